/**
 * A host process for the embedded PostgreSQL tests, standing for a Nest app:
 * `node embedded-postgres-host.mjs <compiled embedded-postgres.server.js> <dataDir>` starts an
 * EmbeddedPostgresServer and prints `{"ready":true,"port":…}`. On SIGINT or SIGTERM it shuts down
 * in order, as an app with shutdown hooks does: it finishes its work (a query, which needs the
 * database still up), then stops the server. Each step prints one JSON line; a failure prints
 * `{"error":…}` and exits with 1. Plain JavaScript, so that it runs without the TypeScript build.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

const [serverModule, dataDir] = process.argv.slice(2);

function print(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function shutDown(signal, server, connection) {
  print({ signal });
  // Requests still in flight when the signal came.
  await sleep(300);
  const client = new pg.Client({ ...connection, database: 'postgres' });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
  print({ queried: true });
  await server.stop();
  print({ stopped: true });
  process.exit(0);
}

async function main() {
  const { EmbeddedPostgresServer } = await import(pathToFileURL(resolve(serverModule)).href);
  const server = new EmbeddedPostgresServer({ dataDir, port: 0 });
  const connection = await server.start();
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => shutDown(signal, server, connection).catch(fail));
  }
  // The app's own work keeps it alive until a signal, whatever the server's handles do.
  setInterval(() => undefined, 60_000);
  print({ ready: true, port: connection.port });
}

function fail(error) {
  print({ error: String(error) });
  process.exit(1);
}

main().catch(fail);
