import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { EventStoreHealth, type EventStoreModuleOptions, type RecordedEvent, type Subscription } from '@game-bot/event-store';
import { MIGRATION_LOCK_CLASS } from '@game-bot/event-store/internal';
import { eventually } from '../helpers/eventually.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { freePort, runService, SERVICE_MAIN } from '../helpers/service-process.js';
import { testConnection, testDatabaseEnv } from '../helpers/test-database.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../helpers/test-store.js';

/**
 * The store behind PgBouncer in transaction mode: PgBouncer gives each transaction (and each
 * statement outside one) whichever server session is free, so nothing the store does may rely on
 * a session. Its small server pool makes the store's clients share a few sessions.
 */
describe('the store behind PgBouncer in transaction mode', () => {
  let bouncer: PgBouncer;
  /** A direct pool on the test server, for checks behind PgBouncer's back. */
  let direct: pg.Pool;
  /** Apps still open: a test closes its own, these are what a failed test left. */
  const opened: TestStore[] = [];
  /** Schemas of the tests, dropped at the end (several apps of a test share one). */
  const schemas: string[] = [];

  beforeAll(async () => {
    bouncer = await startPgBouncer(testConnection());
    direct = new pg.Pool({ ...testConnection(), max: 2 });
  });
  afterAll(async () => {
    await Promise.all([...opened].map(closeApp));
    for (const schema of schemas) await direct?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await direct?.end();
    await bouncer?.stop();
  });

  function newSchema(label: string): string {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    return schema;
  }

  /** An app of the store on `schema`, through PgBouncer. */
  async function opening(schema: string, options: EventStoreModuleOptions = {}): Promise<TestStore> {
    const t = await createTestStore({ connection: bouncer.connection, schema, pooler: 'transaction', poolSize: 6, ...options });
    opened.push(t);
    return t;
  }

  /** Closes an app (subscriptions stopped, pool closed), keeping its schema. */
  async function closeApp(t: TestStore): Promise<void> {
    opened.splice(opened.indexOf(t), 1);
    await t.app.close();
    await t.sql.end();
  }

  it('migrates an empty schema from three apps at once: each migration once, no lock left behind', async () => {
    const schema = newSchema('pgb_migrate');
    const apps = await Promise.all([0, 1, 2].map(() => opening(schema)));
    const { rows: migrations } = await direct.query<{ name: string; runs: number }>(
      `SELECT name, count(*)::int AS runs FROM "${schema}".event_store_migrations GROUP BY name`,
    );
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.every((m) => m.runs === 1)).toBe(true);
    const { rows: locks } = await direct.query<{ held: number }>(
      `SELECT count(*)::int AS held FROM pg_locks
        WHERE locktype = 'advisory' AND classid::bigint = $1 AND objid::bigint = (hashtext($2)::bigint + 4294967296) % 4294967296`,
      [MIGRATION_LOCK_CLASS, schema],
    );
    expect(locks[0]!.held).toBe(0);
    expect(await apps[0]!.app.get(EventStoreHealth).pendingMigrations()).toEqual([]);
    for (const t of apps) await closeApp(t);
  });

  it('concurrent writers from two apps: one winner per race, conflicts with the actual version, every event read back once', async () => {
    const schema = newSchema('pgb_writers');
    const a = await opening(schema);
    const b = await opening(schema);
    const writers = [a, b, a, b, a, b, a, b];

    const race = await Promise.allSettled(writers.map((w, i) => w.store.appendToStream('race', 'no_stream', someEvents(1, 'Raced', i))));
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const lost of race.filter((r) => r.status === 'rejected')) {
      expect(lost.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', details: { actualVersion: 1 } });
    }

    // Six writers each add 15 events to one stream, each at the version it read, retrying on conflict.
    const conflicts: unknown[] = [];
    await Promise.all(
      writers.slice(0, 6).map(async (w, writer) => {
        for (let i = 0; i < 15;) {
          const { version } = await w.store.streamInfo('counter').catch(() => ({ version: 0 }));
          try {
            await w.store.appendToStream('counter', version, [{ eventType: 'Counted', data: { writer, i } }]);
            i++;
          } catch (error) {
            if ((error as { code?: string }).code !== 'WRONG_EXPECTED_VERSION') throw error;
            conflicts.push(error);
          }
        }
      }),
    );
    expect(conflicts.length).toBeGreaterThan(0);
    for (const conflict of conflicts) {
      const { details } = conflict as { details: { expectedVersion: number; actualVersion: number } };
      expect(details.actualVersion).toBeGreaterThan(details.expectedVersion);
    }
    const counter = await a.store.readStreamForward('counter', { maxCount: 1_000 });
    expect(counter.map((e) => e.streamVersion)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
    expect(new Set(counter.map((e) => JSON.stringify(e.data))).size).toBe(90);

    // `any` appends queue rather than fail; each writer also reads its own stream back.
    await Promise.all(
      writers.map(async (w, writer) => {
        for (let i = 0; i < 20; i++) {
          await w.store.appendToStream('shared', 'any', someEvents(2, 'Shared', i * 2));
          await w.store.appendToStream(`own-${writer}`, i === 0 ? 'no_stream' : i * 2, someEvents(2, 'Own', i * 2));
          expect((await w.store.readStreamBackward(`own-${writer}`, { maxCount: 1 }))[0]!.streamVersion).toBe(i * 2 + 2);
        }
      }),
    );
    expect((await b.store.streamInfo('shared')).version).toBe(320);

    await a.allVisible();
    const all = await readAll(b);
    const { rows } = await direct.query<{ event_id: string }>(`SELECT event_id FROM "${schema}".events ORDER BY global_position`);
    expect(all).toHaveLength(1 + 90 + 320 + 320);
    expect(new Set(all.map((e) => e.eventId)).size).toBe(all.length);
    expect(new Set(all.map((e) => e.eventId))).toEqual(new Set(rows.map((r) => r.event_id)));
    await closeApp(b);
    await closeApp(a);
  });

  it('a persistent subscription polls: every event once, in order, from another app, and it resumes from its checkpoint', async () => {
    const schema = newSchema('pgb_subscription');
    const writer = await opening(schema);
    const handled: RecordedEvent[] = [];
    // Its own poll only every minute: what wakes it in time is the store's notification poll.
    const options = { filter: { streamPrefix: 'sub-' }, pollIntervalMs: 60_000, checkpointEvery: 7 };
    const first = await opening(schema);
    const subscription = first.store.subscribeToAll('pgb-sub', (event) => void handled.push(event), options);
    await subscription.waitUntilCaughtUp();

    await appendRound(writer, 0, 30);
    await eventually(() => handled.length === 30, 10_000);
    const started = Date.now();
    await writer.store.appendToStream('sub-late', 'any', someEvents(1, 'Late'));
    await eventually(() => handled.length === 31, 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(first.app.get(EventStoreHealth).notifications()).toBe('poll');
    expect(first.app.get(EventStoreHealth).listener()).toBeUndefined();

    await subscription.unsubscribe();
    await closeApp(first);
    await appendRound(writer, 1, 20);
    const second = await opening(schema);
    const resumed = second.store.subscribeToAll('pgb-sub', (event) => void handled.push(event), options);
    await eventually(() => handled.length === 51, 10_000);
    await appendRound(writer, 2, 10);
    await eventually(() => handled.length === 61, 10_000);
    await sleep(500);

    await writer.allVisible();
    const expected = (await readAll(writer)).filter((e) => e.streamId.startsWith('sub-'));
    expect(handled.map((e) => e.eventId)).toEqual(expected.map((e) => e.eventId));
    await resumed.unsubscribe();
    await closeApp(second);
    await closeApp(writer);
  });

  it('a group of two members splits the partitions and delivers every event once, each stream in order', async () => {
    const schema = newSchema('pgb_group');
    const writer = await opening(schema);
    const members = [await opening(schema), await opening(schema)];
    const handled: Array<{ member: number; event: RecordedEvent }> = [];
    const subscriptions = members.map((m, member) =>
      m.store.subscribeToAll('pgb-group', (event) => void handled.push({ member, event }), {
        group: { partitions: 4 },
        filter: { streamPrefix: 'grp-' },
        pollIntervalMs: 60_000,
        checkpointEvery: 1,
      }),
    ) as Array<Subscription & { partitions: number[] }>;
    await eventually(() => subscriptions.every((s) => s.partitions.length === 2), 30_000);
    expect(subscriptions.flatMap((s) => s.partitions).sort()).toEqual([0, 1, 2, 3]);

    for (let stream = 0; stream < 12; stream++) {
      await writer.store.appendToStream(`grp-${stream}`, 'no_stream', someEvents(5, 'Move'));
    }
    await eventually(() => handled.length >= 60, 20_000);
    await sleep(500);
    expect(handled).toHaveLength(60);
    expect(new Set(handled.map((h) => h.member)).size).toBe(2);
    const byStream = new Map<string, Array<{ member: number; version: number }>>();
    for (const { member, event } of handled) {
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), { member, version: event.streamVersion }]);
    }
    expect(byStream.size).toBe(12);
    for (const deliveries of byStream.values()) {
      expect(deliveries.map((d) => d.version)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(deliveries.map((d) => d.member)).size).toBe(1);
    }
    await Promise.all(subscriptions.map((s) => s.unsubscribe()));
    for (const m of members) await closeApp(m);
    await closeApp(writer);
  });

  it('statements past their time limit are cancelled through PgBouncer: TIMEOUT, nothing stored, nothing left waiting', async () => {
    const schema = newSchema('pgb_cancel');
    const t = await opening(schema, { statementTimeoutMs: 300, connectionTimeoutMs: 500, operationTimeoutMs: 2_000 });
    await t.store.appendToStream('held', 'no_stream', someEvents(1));
    const waiting = async (): Promise<number> => {
      const { rows } = await direct.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = to_regclass($1)`,
        [`"${schema}".events`],
      );
      return rows[0]!.n;
    };
    const locker = await direct.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".events IN ACCESS EXCLUSIVE MODE`);
      // PgBouncer drops the server-side statement_timeout (an ignored startup parameter): only the
      // store's own limit and its CancelRequest end the statements that wait for the lock.
      await expect(t.store.readStreamForward('held')).rejects.toMatchObject({ code: 'TIMEOUT' });
      await eventually(async () => (await waiting()) === 0, 3_000);
      // A write is reported as TIMEOUT only once the server confirmed the cancel.
      await expect(t.store.appendToStream('held', 1, someEvents(1))).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(await waiting()).toBe(0);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect((await t.store.streamInfo('held')).version).toBe(1);
    await closeApp(t);
  });

  it('the built service through PgBouncer: appends and reads over HTTP, and is ready with polling', async () => {
    if (!existsSync(SERVICE_MAIN)) {
      throw new Error(`${SERVICE_MAIN} is missing: build the service first (npm run build)`);
    }
    const schema = newSchema('pgb_service');
    const port = await freePort();
    const service = runService({
      ...testDatabaseEnv(schema),
      EVENT_STORE_HOST: bouncer.host,
      EVENT_STORE_PORT: String(bouncer.port),
      EVENT_STORE_POOLER: 'transaction',
      EVENT_STORE_POOL_SIZE: '4',
      PORT: String(port),
      LOG_FORMAT: 'text',
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await eventually(() => service.output().includes('listening on http://localhost'), 60_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; the service printed:\n${service.output()}`);
      });
      const appended = await fetch(`${base}/streams/pgb-game-1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ expectedVersion: 'no_stream', events: [{ eventType: 'GameStarted', data: { word: 'crane' } }] }),
      });
      expect(appended.status).toBe(201);
      const conflict = await fetch(`${base}/streams/pgb-game-1/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ expectedVersion: 'no_stream', events: [{ eventType: 'GameStarted', data: {} }] }),
      });
      expect(conflict.status).toBe(409);
      const page = (await (await fetch(`${base}/streams/pgb-game-1/events?direction=forward`)).json()) as {
        events: Array<{ eventType: string; streamVersion: number }>;
      };
      expect(page.events.map((e) => [e.eventType, e.streamVersion])).toEqual([['GameStarted', 1]]);
      await eventually(async () => {
        const all = (await (await fetch(`${base}/all/events?direction=forward`)).json()) as { events: unknown[] };
        return all.events.length === 1;
      });
      const ready = await fetch(`${base}/health/ready`);
      const report = JSON.stringify(await ready.json());
      expect({ status: ready.status, report }).toMatchObject({ status: 200, report: expect.stringContaining('"mode":"poll"') });
    } finally {
      service.stop();
      await service.exited;
    }
  });
});

/** Every event of `$all`, in its order, page by page. */
async function readAll(t: TestStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (let fromPosition = 0; ;) {
    const page = await t.store.readAllForward({ fromPosition, maxCount: 50 });
    events.push(...page.events);
    if (page.events.length < 50) return events;
    fromPosition = page.nextFromPosition!;
  }
}

/** `count` events over three `sub-` streams, numbered from `round`. */
async function appendRound(t: TestStore, round: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await t.store.appendToStream(`sub-${i % 3}`, 'any', someEvents(1, 'Scored', round * 100 + i));
  }
}
