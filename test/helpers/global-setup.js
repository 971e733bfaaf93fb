/**
 * Starts the embedded PostgreSQL unless EVENT_STORE_HOST names a server, and publishes it in the
 * EVENT_STORE_* variables, which the test workers inherit. Jest loads this file outside its
 * TypeScript transform, so it uses the compiled library (`npm test` builds first).
 */
import { startTestDatabase } from '@game-bot/event-store/testing';

export const TEST_EMBEDDED_DATA_DIR = 'data/test-postgres';

export default async function globalSetup() {
  const embedded = !process.env.EVENT_STORE_HOST;
  const database = await startTestDatabase(TEST_EMBEDDED_DATA_DIR);
  globalThis.testDatabase = database;
  const { host, port } = database.connection;
  console.log(`\nTests run on ${embedded ? 'the embedded PostgreSQL' : 'PostgreSQL'} at ${host}:${port}`);
}
