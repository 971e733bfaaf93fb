import type { PostgresConnectionOptions } from '../../libs/event-store/src/index.js';

/** The database tests use, so that they never touch a real store's. */
export const TEST_DATABASE = 'game_bot_eventstore_test';

/**
 * The PostgreSQL server of this test run: `EVENT_STORE_HOST` (and friends) when set, otherwise
 * the embedded server that the global set-up started and described in the same variables.
 */
export function testConnection(): PostgresConnectionOptions {
  const host = process.env.EVENT_STORE_HOST;
  if (!host) {
    throw new Error('No test database: run the tests with `npm test`, which starts one');
  }
  return {
    host,
    port: Number(process.env.EVENT_STORE_PORT ?? 5432),
    user: process.env.EVENT_STORE_USER ?? 'postgres',
    password: process.env.EVENT_STORE_PASS ?? 'postgres',
    database: process.env.EVENT_STORE_TEST_DB ?? TEST_DATABASE,
  };
}
