import { EventStoreConnection } from '@game-bot/event-store';
import { EventStoreDatabase, eventStoreMigrations, resolveEventStoreOptions } from '@game-bot/event-store/internal';
import pg from 'pg';
import { ServiceSchema, withServiceMigrations } from '../apps/event-store-service/src/schema/service-schema.js';
import { testConnection } from './helpers/test-database.js';
import { createTestStore } from './helpers/test-store.js';

/** The service's own migrations (webhook definitions), beside the store's in the same schema. */
/** The service's migrations, oldest first. */
const ALL = ['CreateWebhooks1764403200000', 'EncryptWebhookSecrets1764576000000'];
/** The store's own migrations, oldest first. */
const STORE_MIGRATIONS = eventStoreMigrations.map((migration) => migration.name);

describe('service migrations', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  afterAll(() => sql.end());

  const tables = async (schema: string): Promise<string[]> =>
    (await sql.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])).rows.map(
      (r) => r.tablename,
    );

  it('run on a store, revert to nothing and run again, recorded apart from the store migrations', async () => {
    const t = await createTestStore({}, 'svc_updown');
    try {
      const connection = t.app.get(EventStoreConnection);
      expect(await withServiceMigrations(connection, (runner) => runner.migrate())).toEqual(ALL);
      expect(await tables(t.schema)).toEqual(expect.arrayContaining(['webhooks', 'event_store_service_migrations']));
      expect(await withServiceMigrations(connection, (runner) => runner.status())).toEqual({ applied: ALL, pending: [] });
      expect((await t.app.get(EventStoreDatabase).migrations().status()).applied).not.toContain('CreateWebhooks1764403200000');

      expect(await withServiceMigrations(connection, (runner) => runner.revertLast())).toBe('EncryptWebhookSecrets1764576000000');
      expect(await withServiceMigrations(connection, (runner) => runner.revertLast())).toBe('CreateWebhooks1764403200000');
      expect(await tables(t.schema)).not.toContain('webhooks');
      expect(await withServiceMigrations(connection, (runner) => runner.migrate())).toEqual(ALL);
      expect(await tables(t.schema)).toContain('webhooks');
    } finally {
      await t.close();
    }
  });

  it('adopts a store whose own migrations recorded the webhooks table (before the service had migrations of its own)', async () => {
    const t = await createTestStore({}, 'svc_legacy');
    try {
      const s = `"${t.schema}"`;
      await sql.query(`CREATE TABLE ${s}.webhooks (name text COLLATE "C" PRIMARY KEY, url text NOT NULL, secret text NOT NULL,
        stream_id text COLLATE "C", filter jsonb NOT NULL DEFAULT '{}', start_from text NOT NULL, options jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now())`);
      await sql.query(`INSERT INTO ${s}.webhooks (name, url, secret, start_from) VALUES ('kept', 'http://127.0.0.1:1/', 'x', 'origin')`);
      await sql.query(`INSERT INTO ${s}.event_store_migrations (timestamp, name) VALUES (1764403200000, 'CreateWebhooks1764403200000')`);

      expect(await withServiceMigrations(t.app.get(EventStoreConnection), (runner) => runner.migrate())).toEqual(ALL);
      // Its secret stays as it was, for the service to encrypt at boot.
      expect((await sql.query(`SELECT name, secret, encrypted_secret FROM ${s}.webhooks`)).rows).toEqual([
        { name: 'kept', secret: 'x', encrypted_secret: null },
      ]);
      // The store's history no longer names a migration it does not have, so it reverts cleanly.
      const store = t.app.get(EventStoreDatabase).migrations();
      expect(await store.status()).toEqual({
        applied: STORE_MIGRATIONS,
        pending: [],
      });
      expect(await store.revertLast()).toBe(STORE_MIGRATIONS.at(-1));
      expect(await store.migrate()).toEqual([STORE_MIGRATIONS.at(-1)]);
    } finally {
      await t.close();
    }
  });

  it('keeps a secret in one column only, and refuses to revert their encryption while a secret is stored encrypted only', async () => {
    const t = await createTestStore({}, 'svc_encrypted');
    try {
      const connection = t.app.get(EventStoreConnection);
      const s = `"${t.schema}"`;
      await withServiceMigrations(connection, (runner) => runner.migrate());
      const insert = (name: string, columns: string, values: string) =>
        sql.query(`INSERT INTO ${s}.webhooks (name, url, start_from${columns}) VALUES ($1, 'http://127.0.0.1:1/', 'origin'${values})`, [
          name,
        ]);
      await insert('encrypted', ', encrypted_secret', ", 'v1:k:iv:tag:data'");
      await expect(insert('neither', '', '')).rejects.toThrow(/webhooks_one_secret/);
      await expect(insert('both', ', secret, encrypted_secret', ", 'plain', 'v1:k:iv:tag:data'")).rejects.toThrow(/webhooks_one_secret/);

      await expect(withServiceMigrations(connection, (runner) => runner.revertLast())).rejects.toThrow(
        /1 webhook\(s\) hold an encrypted secret only, which a migration cannot decrypt/,
      );
      expect((await withServiceMigrations(connection, (runner) => runner.status())).applied).toEqual(ALL);
      await sql.query(`DELETE FROM ${s}.webhooks`);
      expect(await withServiceMigrations(connection, (runner) => runner.revertLast())).toBe('EncryptWebhookSecrets1764576000000');
    } finally {
      await t.close();
    }
  });

  it('reports its pending migrations to readiness, and check mode names the command that applies them', async () => {
    const t = await createTestStore({}, 'svc_check');
    try {
      const connection = t.app.get(EventStoreConnection);
      const database = t.app.get(EventStoreDatabase);
      const schemaOf = (migrations: 'run' | 'check') =>
        new ServiceSchema(connection, resolveEventStoreOptions({ schema: t.schema, migrations }), database);
      expect(await schemaOf('check').pendingMigrations()).toEqual(ALL);
      await expect(schemaOf('check').onModuleInit()).rejects.toThrow(
        /has 2 pending migration\(s\) \(CreateWebhooks1764403200000, EncryptWebhookSecrets1764576000000\): run `npm run migrate`, or enable migrations at start/,
      );
      await schemaOf('run').onModuleInit();
      expect(await schemaOf('check').pendingMigrations()).toEqual([]);
      await schemaOf('check').onModuleInit();
    } finally {
      await t.close();
    }
  });
});
