import { Injectable, Module } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Projection,
  type EventStore,
  type ProjectionHandler,
  type ProjectionTables,
  type RecordedEvent,
  type StoreTransaction,
} from '@game-bot/event-store';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

/**
 * Unqualified table names, as docs/projections.md writes them. Unique to this run: should a build
 * put them in the database's default schema, two runs must not meet there either.
 */
const table = `scores_${randomBytes(4).toString('hex')}`;

@Projection('scores', { filter: { streamPrefix: 'player-' }, batchSize: 10 })
@Injectable()
class ScoresProjection implements ProjectionHandler {
  readonly tables = { scores: table };

  async createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
    await tx.query(`CREATE TABLE ${tables.scores} (player text PRIMARY KEY, points integer NOT NULL)`);
    await tx.query(`CREATE INDEX ON ${tables.scores} (points DESC)`);
  }

  async handle(event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
    await tx.query(
      `INSERT INTO ${tables.scores} AS s (player, points) VALUES ($1, $2)
       ON CONFLICT (player) DO UPDATE SET points = s.points + EXCLUDED.points`,
      [event.streamId, (event.data as { n: number }).n],
    );
  }
}

@Module({ providers: [ScoresProjection] })
class ScoresModule {}

/** While set, ClashingProjection's createTables fails: it creates its table twice. */
let clashing = true;

/** See {@link clashing}. */
@Projection('clashing', { filter: { streamPrefix: 'player-' } })
@Injectable()
class ClashingProjection implements ProjectionHandler {
  readonly tables = { rows: 'clashing_rows' };

  async createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
    await tx.query(`CREATE TABLE ${tables.rows} (id integer PRIMARY KEY)`);
    if (clashing) await tx.query(`CREATE TABLE ${tables.rows} (id integer PRIMARY KEY)`);
  }

  async handle(): Promise<void> {}
}

@Module({ providers: [ClashingProjection] })
class ClashingModule {}

describe('projections with unqualified table names, one store per schema', () => {
  const schemas = [uniqueSchema('proj_tenant_a'), uniqueSchema('proj_tenant_b')];
  let stores: TestStore[] = [];

  beforeAll(async () => {
    // Side by side, as two tenants' services start.
    stores = await Promise.all(schemas.map((schema) => createTestStore({ schema }, undefined, [ScoresModule])));
  });
  afterAll(async () => {
    // Only a broken build puts the tables there; never leave them behind.
    await stores[0]?.sql.query(`DROP TABLE IF EXISTS public.${table}`);
    await Promise.all(stores.map((t) => t.close()));
  });

  async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  async function caughtUp(t: TestStore): Promise<void> {
    await t.allVisible();
    await until(async () => {
      const status = await t.store.projectionStatus('scores');
      return status.status === 'running' && status.lag === 0;
    }, `the projection of ${t.schema} to catch up`);
  }

  /** The read model as `store.transaction` reads it, by the names the projection gave. */
  async function scores(store: EventStore): Promise<Record<string, number>> {
    const rows = await store.transaction(async (tx) => (await tx.query<{ player: string; points: number }>(`SELECT * FROM ${table}`)).rows);
    return Object.fromEntries(rows.map((row) => [row.player, row.points]));
  }

  async function schemasHolding(t: TestStore, name: string): Promise<string[]> {
    const { rows } = await t.sql.query<{ schemaname: string }>('SELECT schemaname FROM pg_tables WHERE tablename = $1 ORDER BY 1', [name]);
    return rows.map((row) => row.schemaname);
  }

  it("creates, writes and rebuilds each store's tables in the store's own schema, so tenants never collide", async () => {
    const [a, b] = stores as [TestStore, TestStore];
    await a.store.appendToStream('player-1', 'any', someEvents(3, 'Scored', 1));
    await b.store.appendToStream('player-1', 'any', someEvents(2, 'Scored', 10));
    await b.store.appendToStream('player-2', 'any', someEvents(1, 'Scored', 5));
    await Promise.all([caughtUp(a), caughtUp(b)]);

    expect(await schemasHolding(a, table)).toEqual([...schemas].sort());
    expect(await scores(a.store)).toEqual({ 'player-1': 1 + 2 + 3 });
    expect(await scores(b.store)).toEqual({ 'player-1': 10 + 11, 'player-2': 5 });
    expect((await a.store.projectionStatus('scores')).lastError).toBeNull();
    expect((await b.store.projectionStatus('scores')).lastError).toBeNull();

    await a.store.appendToStream('player-2', 'any', someEvents(1, 'Scored', 7));
    // Another file's open transaction on the server can keep the new event out of $all for a moment.
    await a.allVisible();
    expect(await a.store.rebuildProjection('scores')).toMatchObject({ generation: 1, processed: 4 });
    await caughtUp(a);
    expect(await schemasHolding(a, table)).toEqual([...schemas].sort());
    expect(await scores(a.store)).toEqual({ 'player-1': 6, 'player-2': 7 });
    expect(await scores(b.store)).toEqual({ 'player-1': 21, 'player-2': 5 });
    const indexes = await a.sql.query<{ indexname: string }>(
      'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
      [a.schema, table],
    );
    expect(indexes.rows.map((row) => row.indexname)).toEqual([`${table}_pkey`, `${table}_points_idx`]);
  });
});

describe('a projection whose createTables fails', () => {
  let t: TestStore;
  const schema = uniqueSchema('proj_clash');

  beforeAll(async () => {
    t = await createTestStore({ schema }, undefined, [ClashingModule]);
  });
  afterAll(async () => {
    await t.close();
  });

  it("is reported as 'failed' with the database's error, not as standing by; resumeProjection tries it again", async () => {
    const deadline = Date.now() + 10_000;
    let status = await t.store.projectionStatus('clashing');
    while (status.lastError === null && Date.now() < deadline) {
      await sleep(20);
      status = await t.store.projectionStatus('clashing');
    }
    expect(status).toMatchObject({ name: 'clashing', status: 'failed', owner: null, checkpoint: 0 });
    expect(status.lastError?.message).toMatch(/clashing_rows.*already exists/);
    expect((await t.store.listProjections()).map((p) => [p.name, p.status])).toEqual([['clashing', 'failed']]);

    clashing = false;
    await t.store.resumeProjection('clashing');
    while ((await t.store.projectionStatus('clashing')).status !== 'running' && Date.now() < deadline) await sleep(20);
    expect(await t.store.projectionStatus('clashing')).toMatchObject({ status: 'running', lastError: null });
  });
});
