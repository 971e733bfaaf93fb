/**
 * Starts the embedded PostgreSQL unless EVENT_STORE_HOST names a server, and publishes it in the
 * EVENT_STORE_* variables, which the test workers inherit. Jest loads this file outside its
 * TypeScript transform, so it uses the compiled library (`npm test` builds first).
 */
import { EmbeddedPostgresServer } from '../../dist/libs/event-store/src/storage/embedded-postgres.server.js';

export const TEST_EMBEDDED_DATA_DIR = 'data/test-postgres';

export default async function globalSetup() {
  if (process.env.EVENT_STORE_HOST) {
    console.log(`\nTests run on PostgreSQL at ${process.env.EVENT_STORE_HOST}:${process.env.EVENT_STORE_PORT ?? 5432}`);
    return;
  }
  const server = new EmbeddedPostgresServer({ dataDir: TEST_EMBEDDED_DATA_DIR, port: 0 });
  const connection = await server.start();
  globalThis.embeddedTestServer = server;
  process.env.EVENT_STORE_HOST = connection.host;
  process.env.EVENT_STORE_PORT = String(connection.port);
  process.env.EVENT_STORE_USER = connection.user;
  process.env.EVENT_STORE_PASS = connection.password;
  process.env.EVENT_STORE_TEST_EMBEDDED = 'true';
  console.log(`\nTests run on the embedded PostgreSQL at ${connection.host}:${connection.port}`);
}
