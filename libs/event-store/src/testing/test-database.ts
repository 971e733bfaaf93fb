import type { PostgresConnectionOptions } from '../configuration/event-store-options.interface.js';
import { resolveEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EmbeddedPostgresServer } from '../storage/embedded-postgres.server.js';
import { ensureDatabase } from '../storage/ensure-database.js';

/** The database a test store is created in, unless `EVENT_STORE_TEST_DB` names another. */
export const TEST_DATABASE = 'game_bot_eventstore_test';

/** A PostgreSQL server for a test run, and how to stop it. */
export interface TestDatabase {
  connection: PostgresConnectionOptions;
  /** Stops the server if this run started it. */
  stop(): Promise<void>;
}

/**
 * The server the test stores of this process use: the one named by `EVENT_STORE_HOST` (and
 * `EVENT_STORE_PORT`, `EVENT_STORE_USER`, `EVENT_STORE_PASS`; database `EVENT_STORE_TEST_DB`,
 * default `game_bot_eventstore_test`), or `undefined` when none is named.
 */
export function testConnectionFromEnvironment(environment: NodeJS.ProcessEnv = process.env): PostgresConnectionOptions | undefined {
  const host = environment.EVENT_STORE_HOST;
  if (!host) {
    return undefined;
  }
  return {
    host,
    port: Number(environment.EVENT_STORE_PORT ?? 5432),
    user: environment.EVENT_STORE_USER ?? 'postgres',
    password: environment.EVENT_STORE_PASS ?? 'postgres',
    database: environment.EVENT_STORE_TEST_DB ?? TEST_DATABASE,
  };
}

/**
 * For a test runner's global set-up: the server named by `EVENT_STORE_HOST`, or else an embedded
 * PostgreSQL (data in `dataDir`, reused across runs) that it starts and publishes in the
 * `EVENT_STORE_*` variables, which the test workers inherit. The test database is created when
 * missing, so that a test may connect to it before any store has.
 *
 * @example
 * // jest.global-setup.mjs
 * import { startTestDatabase } from '@game-bot/event-store/testing';
 * export default async () => { globalThis.testDatabase = await startTestDatabase(); };
 * // jest.global-teardown.mjs
 * export default async () => { await globalThis.testDatabase?.stop(); };
 */
export async function startTestDatabase(dataDir = 'data/test-postgres'): Promise<TestDatabase> {
  const configured = testConnectionFromEnvironment();
  if (configured !== undefined) {
    await createIfMissing(configured);
    return { connection: configured, stop: async () => undefined };
  }
  const server = new EmbeddedPostgresServer({ dataDir, port: 0 });
  const connection = await server.start();
  process.env.EVENT_STORE_HOST = connection.host;
  process.env.EVENT_STORE_PORT = String(connection.port);
  process.env.EVENT_STORE_USER = connection.user;
  process.env.EVENT_STORE_PASS = connection.password;
  const test = { ...connection, database: TEST_DATABASE };
  await createIfMissing(test);
  return { connection: test, stop: () => server.stop() };
}

function createIfMissing(connection: PostgresConnectionOptions): Promise<void> {
  return ensureDatabase(resolveEventStoreOptions({ connection }).connection!, {
    connectionTimeoutMs: 10_000,
    applicationName: 'event-store-test-setup',
  });
}
