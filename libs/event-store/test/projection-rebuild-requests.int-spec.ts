import { Module, type INestApplicationContext } from '@nestjs/common';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStore, EventStoreModule, type RebuildRequestProgress } from '@game-bot/event-store';
import { EventStoreDatabase } from '@game-bot/event-store/internal';
import { NestFactory } from '@nestjs/core';
import { allEvents, countingProjection, expectedModel, projectionCaughtUp, readModel } from '../../../test/helpers/counting-projection.js';
import { startProjectionProcess, type ProjectionLine } from '../../../test/helpers/projection-child.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { testConnection } from '../../../test/helpers/test-database.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

const schema = uniqueSchema('rebuildreq');

/** Whether the `failing` projection's handler throws while it builds a rebuild's tables. */
let failRebuilds = false;
/** Milliseconds each event of the `slow` projection takes (so that a rebuild can be watched under way). */
let slowMs = 0;

const Requested = countingProjection('requested', {
  schema,
  prefix: 'rq',
  options: { filter: { streamPrefix: 'rq-' }, batchSize: 20, pollIntervalMs: 200 },
  before: () => (slowMs > 0 ? sleep(slowMs) : undefined),
});

const Failing = countingProjection('failing', {
  schema,
  prefix: 'fg',
  options: {
    filter: { streamPrefix: 'fg-' },
    batchSize: 10,
    pollIntervalMs: 200,
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
  },
  before: (_event, _tx, tables) => {
    if (failRebuilds && tables.totals!.includes('__r')) throw new Error('the rebuild cannot read this');
  },
});

/** Whether the `halting` projection's live handler throws on events marked `poison` (its rebuilds do not). */
let poisonLive = true;

const Halting = countingProjection('halting', {
  schema,
  prefix: 'hl',
  options: {
    filter: { streamPrefix: 'hl-' },
    batchSize: 10,
    pollIntervalMs: 200,
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
  },
  before: (event, _tx, tables) => {
    if (poisonLive && (event.data as { poison?: boolean }).poison && !tables.totals!.includes('__r')) throw new Error('live code bug');
  },
});

@Module({ providers: [Requested, Failing, Halting] })
class ProjectionsModule {}

@Module({
  providers: [countingProjection('orphan', { schema, prefix: 'or', options: { filter: { streamPrefix: 'or-' }, pollIntervalMs: 200 } })],
})
class OrphanModule {}

/**
 * Rebuild requests (`store.requestProjectionRebuild`, the command line's `projections rebuild`):
 * asked from a process without the projection's provider, taken up by the process that runs it.
 */
describe('projection rebuild requests', () => {
  let t: TestStore;
  /** Another process's view of the store, as the command line has it: no projection provider. */
  let remote: INestApplicationContext;
  let asker: EventStore;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestStore({ schema }, undefined, [ProjectionsModule]);
    remote = await NestFactory.createApplicationContext(EventStoreModule.forRoot({ connection: testConnection(), schema }), {
      logger: ['error'],
    });
    asker = remote.get(EventStore);
  });
  afterAll(async () => {
    children.forEach((child) => child.kill('SIGKILL'));
    await remote.close();
    await t.close();
  });

  const caughtUp = (name: string, timeoutMs?: number): Promise<void> => projectionCaughtUp(t, name, timeoutMs);

  const replay = async (prefix: string): Promise<ReturnType<typeof expectedModel>> =>
    expectedModel(await allEvents((options) => t.store.readAllForward(options), { streamPrefix: prefix }));

  const columns = async (): Promise<string[]> =>
    (
      await t.sql.query<{ name: string }>(
        `SELECT column_name AS name FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'projections' AND column_name IN ('rebuild_requested_at', 'rebuild_error') ORDER BY 1`,
        [schema],
      )
    ).rows.map((row) => row.name);

  it('the migration adds the request columns and its revert removes them, keeping the projections', async () => {
    const own = uniqueSchema('rebuildreq_mig');
    const m = await createTestStore({ schema: own });
    try {
      const runner = m.app.get(EventStoreDatabase).migrations();
      const count = async (): Promise<number> =>
        Number(
          (
            await m.sql.query<{ n: string }>(
              `SELECT count(*) AS n FROM information_schema.columns
                WHERE table_schema = $1 AND table_name = 'projections' AND column_name IN ('rebuild_requested_at', 'rebuild_error')`,
              [own],
            )
          ).rows[0]!.n,
        );
      expect(await count()).toBe(2);
      await m.sql.query(`INSERT INTO "${own}".projections (name, tables, rebuild_requested_at) VALUES ('kept', '{}', now())`);
      // Revert down to (and including) this migration, whatever came after it.
      while ((await runner.status()).applied.includes('ProjectionRebuildRequests1796774400000')) await runner.revertLast();
      expect(await count()).toBe(0);
      expect((await m.sql.query(`SELECT name FROM "${own}".projections`)).rows).toEqual([{ name: 'kept' }]);
      await runner.migrate();
      expect(await count()).toBe(2);
      expect((await m.sql.query(`SELECT rebuild_requested_at FROM "${own}".projections`)).rows).toEqual([{ rebuild_requested_at: null }]);
    } finally {
      await m.close();
    }
  });

  it('asked from a process without the provider, the process running it rebuilds it and switches; a second request meanwhile is answered by the same rebuild', async () => {
    expect(await columns()).toEqual(['rebuild_error', 'rebuild_requested_at']);
    for (let i = 0; i < 20; i++) await t.store.appendToStream(`rq-${i % 4}`, 'any', someEvents(10, 'Counted', i * 10));
    await caughtUp('requested');
    slowMs = 10; // 200 events: about 2 s of rebuild, watched by both requests
    const first: RebuildRequestProgress[] = [];
    const second: RebuildRequestProgress[] = [];
    const waiting = asker.requestProjectionRebuild('requested', { wait: true, pollIntervalMs: 50, onProgress: (p) => first.push(p) });
    await eventually(() => first.some((p) => p.phase === 'replaying' && p.processed > 0), 10_000, 'the rebuild to be under way');
    const status = await asker.projectionStatus('requested');
    expect(status.status).toBe('rebuilding');
    expect(status.rebuild!.owner).toContain(`:${process.pid}:`); // the test process runs it: it rebuilds it
    expect(status.rebuildRequestedAt).toBeInstanceOf(Date);
    const again = asker.requestProjectionRebuild('requested', { wait: true, pollIntervalMs: 50, onProgress: (p) => second.push(p) });
    const [a, b] = await Promise.all([waiting, again]);
    slowMs = 0;

    expect(a).toMatchObject({ state: 'switched', generation: 1, interrupted: false });
    expect(b).toMatchObject({ state: 'switched', generation: 1 });
    expect(first[0]).toMatchObject({ phase: 'requested', owner: expect.stringContaining(`:${process.pid}:`) });
    expect(first.at(-1)).toMatchObject({ phase: 'switched', generation: 1 });
    const replaying = first.filter((p) => p.phase === 'replaying');
    expect(replaying.at(-1)!.processed).toBeGreaterThan(replaying[0]!.processed);
    expect(second.some((p) => p.phase === 'replaying')).toBe(true);
    // One rebuild answered both, and nothing is left pending to start another.
    await sleep(1_500);
    expect(await asker.projectionStatus('requested')).toMatchObject({
      generation: 1,
      rebuild: null,
      rebuildRequestedAt: null,
      rebuildError: null,
    });
    await t.store.appendToStream('rq-9', 'any', someEvents(5, 'Counted'));
    await caughtUp('requested');
    expect(await readModel(t.sql, schema, 'rq')).toEqual(await replay('rq-'));
  });

  it('without waiting: resolves once recorded, naming who takes it up; the rebuild follows', async () => {
    const result = await asker.requestProjectionRebuild('requested');
    expect(result).toMatchObject({ name: 'requested', state: 'requested', generation: 1, interrupted: false });
    expect(result.owner).toContain(`:${process.pid}:`);
    await eventually(async () => (await asker.projectionStatus('requested')).generation === 2, 10_000, 'the rebuild');
    expect(await asker.projectionStatus('requested')).toMatchObject({ rebuildRequestedAt: null, rebuild: null });
    expect(await readModel(t.sql, schema, 'rq')).toEqual(await replay('rq-'));
  });

  it('a rebuild that gives up clears the request with its error, once: the waiter rejects, the live model is unchanged', async () => {
    await t.store.appendToStream('fg-1', 'any', someEvents(30, 'Counted'));
    await caughtUp('failing');
    const before = await readModel(t.sql, schema, 'fg');
    failRebuilds = true;
    try {
      await expect(asker.requestProjectionRebuild('failing', { wait: true, pollIntervalMs: 50 })).rejects.toThrow(
        /^The rebuild of projection 'failing' gave up: .*the rebuild cannot read this.*The live read model is unchanged$/,
      );
    } finally {
      failRebuilds = false;
    }
    const status = await asker.projectionStatus('failing');
    expect(status).toMatchObject({ generation: 0, rebuildRequestedAt: null, rebuild: null, status: 'running' });
    expect(status.rebuildError!.message).toMatch(/the rebuild cannot read this/);
    // Not tried again on its own: the request is gone.
    await sleep(2_000);
    expect(await asker.projectionStatus('failing')).toMatchObject({ generation: 0, rebuildRequestedAt: null });
    expect(await readModel(t.sql, schema, 'fg')).toEqual(before);
    // A new request forgets the failure, and (the cause fixed) rebuilds.
    await expect(asker.requestProjectionRebuild('failing', { wait: true, pollIntervalMs: 50 })).resolves.toMatchObject({
      state: 'switched',
      generation: 2, // generation 1 was the one that gave up: its number is not used again
    });
    expect((await asker.projectionStatus('failing')).rebuildError).toBeNull();
  });

  it('a halted projection (no process holds its lease) is rebuilt by a process that has it, and runs again', async () => {
    await t.store.appendToStream('hl-1', 'any', someEvents(12, 'Counted'));
    await t.store.appendToStream('hl-2', 'any', [{ eventType: 'Counted', data: { n: 7, poison: true } }]);
    await eventually(async () => (await asker.projectionStatus('halting')).status === 'halted');
    expect((await asker.projectionStatus('halting')).owner).toBeNull();
    await expect(asker.requestProjectionRebuild('halting', { wait: true, pollIntervalMs: 50 })).resolves.toMatchObject({
      state: 'switched',
      generation: 1,
    });
    poisonLive = false;
    await t.store.appendToStream('hl-1', 'any', someEvents(3, 'Counted', 12));
    await caughtUp('halting');
    expect(await asker.projectionStatus('halting')).toMatchObject({ status: 'running', failedEvent: null, rebuildRequestedAt: null });
    expect(await readModel(t.sql, schema, 'hl')).toEqual(await replay('hl-'));
  });

  it('refuses an unknown name and bad options', async () => {
    await expect(asker.requestProjectionRebuild('no-such-projection')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^No projection named 'no-such-projection'/),
    });
    await expect(asker.requestProjectionRebuild('requested', { wait: true, startTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('no process runs it: the request waits (TIMEOUT past startTimeoutMs, withdrawn), or, recorded, is taken up by the next process that starts it', async () => {
    const orphan = await NestFactory.createApplicationContext(
      { module: class OrphanApp {}, imports: [EventStoreModule.forRoot({ connection: testConnection(), schema }), OrphanModule] },
      { logger: ['error'] },
    );
    await t.store.appendToStream('or-1', 'any', someEvents(15, 'Counted'));
    await eventually(
      () =>
        orphan
          .get(EventStore)
          .projectionStatus('orphan')
          .then(
            (s) => s.lag === 0 && s.checkpoint > 0,
            () => false,
          ),
      20_000,
      'the orphan to catch up',
    );
    await orphan.close();

    const seen: RebuildRequestProgress[] = [];
    const started = Date.now();
    await expect(
      asker.requestProjectionRebuild('orphan', { wait: true, startTimeoutMs: 1_500, pollIntervalMs: 50, onProgress: (p) => seen.push(p) }),
    ).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/within 1500 ms: the request was withdrawn/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(seen.every((p) => p.phase === 'requested' && p.owner === null)).toBe(true);
    expect((await asker.projectionStatus('orphan')).rebuildRequestedAt).toBeNull();

    const recorded = await asker.requestProjectionRebuild('orphan');
    expect(recorded).toMatchObject({ state: 'requested', owner: null });
    await sleep(1_500); // nobody to take it up: it stays
    expect((await asker.projectionStatus('orphan')).rebuildRequestedAt).toEqual(recorded.requestedAt);
    const waiting = asker.requestProjectionRebuild('orphan', { wait: true, pollIntervalMs: 50 });
    const restarted = await NestFactory.createApplicationContext(
      { module: class OrphanAgain {}, imports: [EventStoreModule.forRoot({ connection: testConnection(), schema }), OrphanModule] },
      { logger: ['error'] },
    );
    try {
      await expect(waiting).resolves.toMatchObject({ state: 'switched', generation: 1 });
      expect(await readModel(t.sql, schema, 'or')).toEqual(await replay('or-'));
    } finally {
      await restarted.close();
    }
  });

  it('the rebuilding process killed half-way: the next process to run the projection takes the request up and the waiter sees the switch', async () => {
    const env = { PROJECTION: 'handed', TABLE_PREFIX: 'hd', STREAM_PREFIX: 'hd-', BATCH_SIZE: '20', DELAY_MS: '5' };
    for (let i = 0; i < 20; i++) await t.store.appendToStream(`hd-${i % 5}`, 'any', someEvents(10, 'Counted', i * 10));
    const lines: ProjectionLine[] = [];
    const processes = await Promise.all([start(env, lines), start(env, lines)]);
    await caughtUp('handed', 30_000);

    const progress: RebuildRequestProgress[] = [];
    const waiting = asker.requestProjectionRebuild('handed', { wait: true, pollIntervalMs: 50, onProgress: (p) => progress.push(p) });
    await eventually(() => progress.some((p) => p.phase === 'replaying' && p.processed >= 40), 20_000, 'the first rebuild under way');
    const pidOf = (p: RebuildRequestProgress): number => Number(p.owner!.split(':')[1]);
    const victim = processes.find((child) => child.pid === pidOf(progress.find((p) => p.phase === 'replaying')!))!;
    const survivor = processes.find((child) => child !== victim)!;
    victim.kill('SIGKILL');

    await expect(waiting).resolves.toMatchObject({ state: 'switched', generation: 2 });
    const replaying = progress.filter((p) => p.phase === 'replaying');
    expect(new Set(replaying.map(pidOf))).toEqual(new Set([victim.pid, survivor.pid]));
    // The dead rebuild went back to waiting for a process before the next one took it up.
    const taken = progress.findIndex((p) => p.phase === 'replaying' && pidOf(p) === survivor.pid);
    expect(progress.slice(0, taken).some((p) => p.phase === 'requested')).toBe(true);
    expect(lines.some((line) => line.pid === survivor.pid && line.rebuild)).toBe(true);
    await caughtUp('handed', 30_000);
    expect(await readModel(t.sql, schema, 'hd')).toEqual(await replay('hd-'));
    expect(await asker.projectionStatus('handed')).toMatchObject({ generation: 2, rebuildRequestedAt: null, rebuild: null });
  });

  async function start(env: Record<string, string>, lines: ProjectionLine[]): Promise<ChildProcess> {
    const child = await startProjectionProcess(schema, env, lines);
    children.push(child);
    return child;
  }
});
