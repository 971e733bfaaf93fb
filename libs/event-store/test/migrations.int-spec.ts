import { createTestStore, someEvents, uniqueSchema } from '../../../test/helpers/test-store.js';
import { eventStoreMigrations } from '@game-bot/event-store/internal';
import pg from 'pg';
import { testConnection } from '../../../test/helpers/test-database.js';

/** The store's own migrations, oldest first. */
const STORE_MIGRATIONS = eventStoreMigrations.map((migration) => migration.name);

describe('migrations', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  afterAll(async () => {
    await sql.end();
  });

  const count = async (query: string): Promise<number> => Number((await sql.query<{ n: string }>(query)).rows[0]!.n);

  it('three processes starting at once on an empty schema: exactly one migrates, all work', async () => {
    const schema = uniqueSchema('concurrent');
    const stores = await Promise.all([1, 2, 3].map(() => createTestStore({ schema })));
    try {
      expect(await count(`SELECT count(*) AS n FROM "${schema}".event_store_migrations`)).toBe(STORE_MIGRATIONS.length);
      await Promise.all(stores.map((s, i) => s.store.appendToStream(`from-${i}`, 'no_stream', someEvents(1))));
      await stores[0]!.allVisible();
      expect((await stores[0]!.store.readAllForward()).events).toHaveLength(3);
    } finally {
      for (const s of stores.slice(1)) await s.app.close().then(() => s.sql.end());
      await stores[0]!.close();
    }
  });

  it('check mode refuses to start on pending migrations, naming them and the fix', async () => {
    const schema = uniqueSchema('check');
    await expect(createTestStore({ schema, migrations: 'check' })).rejects.toThrow(
      `${STORE_MIGRATIONS.length} pending migration(s) (${STORE_MIGRATIONS.join(', ')}): run \`npx event-store migrate\``,
    );
  });

  it("check mode names the host app's own command when it gives one (migrations of its own beside the store's)", async () => {
    const schema = uniqueSchema('checkcmd');
    await expect(createTestStore({ schema, migrations: 'check', migrateCommand: 'npm run migrate' })).rejects.toThrow(
      /pending migration\(s\) \(.*\): run `npm run migrate`, or enable migrations at start$/,
    );
  });

  it('skip mode refuses a schema that holds no store', async () => {
    const schema = uniqueSchema('skip');
    await sql.query(`CREATE SCHEMA "${schema}"`);
    try {
      await expect(createTestStore({ schema, migrations: 'skip' })).rejects.toThrow(/does not hold an event store/);
    } finally {
      await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  it('reverts down to an empty schema and migrates up again', async () => {
    const t = await createTestStore({}, 'updown');
    try {
      const runner = t.app.get((await import('@game-bot/event-store/internal')).EventStoreDatabase).migrations();
      const all = STORE_MIGRATIONS;
      const functionText = async (): Promise<string> =>
        (
          await sql.query<{ text: string }>(
            `SELECT pg_get_functiondef('"${t.schema}".append_to_stream(text, bigint, json)'::regprocedure) AS text`,
          )
        ).rows[0]!.text;
      const locksStream = async (): Promise<boolean> =>
        (
          await sql.query<{ locks: boolean }>(
            `SELECT pg_get_functiondef('"${t.schema}".append_to_stream(text, bigint, json)'::regprocedure) LIKE '%pg_advisory_xact_lock%' AS locks`,
          )
        ).rows[0]!.locks;
      expect(await runner.status()).toEqual({ applied: all, pending: [] });
      expect(await functionText()).toContain('pg_advisory_xact_lock_shared');
      await t.store.appendToStreams([
        { streamId: 'tagged-before-revert', expectedVersion: 'no_stream', events: [{ eventType: 'T', data: {}, tags: ['x'] }] },
      ]);
      // The migrations after these (each tested on its own) first, newest first.
      for (const later of STORE_MIGRATIONS.slice(STORE_MIGRATIONS.indexOf('CreateProjections1796342400000') + 1).reverse()) {
        expect(await runner.revertLast()).toBe(later);
      }
      expect(await runner.revertLast()).toBe('CreateProjections1796342400000');
      expect(await count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = '${t.schema}' AND tablename = 'projections'`)).toBe(0);
      expect(await runner.revertLast()).toBe('StreamsLinksTags1796256000000');
      expect(await functionText()).not.toContain('pg_advisory_xact_lock_shared');
      expect(
        await count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = '${t.schema}' AND tablename IN ('event_tags', 'stream_links')`),
      ).toBe(0);
      expect(await locksStream()).toBe(true);
      expect(await runner.revertLast()).toBe('LockStreamBeforeAppend1796083200000');
      expect(await locksStream()).toBe(false);
      expect(await runner.revertLast()).toBe('CreateSubscriptions1764316800000');
      expect(await runner.revertLast()).toBe('CreateEventStore1764230400000');
      expect(await runner.revertLast()).toBeUndefined();
      expect(
        await count(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = '${t.schema}' AND tablename <> 'event_store_migrations'`),
      ).toBe(0);
      expect(await runner.status()).toEqual({ applied: [], pending: all });
      expect(await runner.migrate()).toEqual(all);
      await t.store.appendToStream('after-remigration', 'no_stream', someEvents(2));
      expect(await t.store.readStreamForward('after-remigration')).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});
