import type { PostgresConnectionOptions } from '@game-bot/event-store';
import pg from 'pg';
import { testConnectionFromEnvironment } from '@game-bot/event-store/testing';

export { TEST_DATABASE } from '@game-bot/event-store/testing';

/**
 * The PostgreSQL server of this test run: `EVENT_STORE_HOST` (and friends) when set, otherwise
 * the embedded server that the global set-up started and described in the same variables.
 */
export function testConnection(): PostgresConnectionOptions {
  const connection = testConnectionFromEnvironment();
  if (connection === undefined) {
    throw new Error('No test database: run the tests with `npm test`, which starts one');
  }
  return connection;
}

/** The `EVENT_STORE_*` variables naming the test database and `schema`, for a service or command run as a process. */
export function testDatabaseEnv(schema: string): Record<string, string> {
  const connection = testConnection();
  return {
    EVENT_STORE_HOST: connection.host,
    EVENT_STORE_PORT: String(connection.port),
    EVENT_STORE_USER: connection.user!,
    EVENT_STORE_PASS: connection.password!,
    EVENT_STORE_DB: connection.database!,
    EVENT_STORE_SCHEMA: schema,
  };
}

/** Opens one client on `connection`, runs `work` on it, and always closes it. */
export async function withClient<T>(connection: pg.ClientConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
