import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import pg from 'pg';
import { findPgBouncer, startPgBouncer } from './helpers/pgbouncer.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { freePort, runService } from './helpers/service-process.js';
import { eventStoreMigrations } from '@game-bot/event-store/internal';

/** The store's own migrations, oldest first. */
const STORE_MIGRATIONS = eventStoreMigrations.map((migration) => migration.name);

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the service process', () => {
  it('boots on the embedded PostgreSQL with no configuration, says where it listens, and stops cleanly', async () => {
    const dataDir = `data/tmp-service-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const service = runService({ PORT: String(port), EVENT_STORE_EMBEDDED_DATA_DIR: dataDir });
    try {
      await waitFor(() => service.output().includes('listening on http://localhost'), 60_000);
      expect(service.output()).toContain(`listening on http://localhost:${port}`);
      expect(service.output()).toContain('Embedded PostgreSQL listening on 127.0.0.1:');
      const response = await fetch(`http://127.0.0.1:${port}/no-such-route`, { headers: { 'X-Request-Id': 'boot-check-1' } });
      expect(response.status).toBe(404);
      expect(response.headers.get('x-request-id')).toBe('boot-check-1');
      const generated = (await fetch(`http://127.0.0.1:${port}/health/live`)).headers.get('x-request-id');
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      await waitFor(() => service.output().includes(generated!), 5_000);
      service.stop();
      // Once its shutdown hooks have run, the service exits with 0 (so that buffered log lines are written).
      expect(await service.exited).toEqual({ code: 0, signal: null });
      // Structured logs: one JSON object a line, each request's line carrying its id.
      const lines = service
        .output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.filter((line) => line.level === 'error')).toEqual([]);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 'info',
          message: 'request',
          requestId: 'boot-check-1',
          method: 'GET',
          path: '/no-such-route',
          status: 404,
        }),
      );
      expect(lines).toContainEqual(
        expect.objectContaining({ message: 'request', requestId: generated, path: '/health/live', status: 200 }),
      );
      expect(existsSync(`${dataDir}/PG_VERSION`)).toBe(true);
      expect(existsSync(`${dataDir}/postmaster.pid`)).toBe(false);
    } finally {
      service.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a bad variable with one line naming it, and exits non-zero', async () => {
    const service = runService({ EVENT_STORE_PORT: 'five' });
    expect(await service.exited).toEqual({ code: 1, signal: null });
    expect(service.output().trim()).toBe(
      "Event store service failed to start: Invalid configuration: EVENT_STORE_PORT must be an integer from 1 to 65535 (got 'five')",
    );
  });

  it('production refuses pending migrations in one line, with the command that applies them', async () => {
    const schema = uniqueSchema('prodcheck');
    const service = runService({
      NODE_ENV: 'production',
      EVENT_STORE_ALLOW_NO_AUTH: 'true',
      ...testDatabaseEnv(schema),
      PORT: String(await freePort()),
    });
    expect(await service.exited).toEqual({ code: 1, signal: null });
    // Before, Nest's own error line with the stack and the modules' start-up lines came with it.
    expect(service.output().trim().split('\n')).toEqual([
      `Event store service failed to start: Schema '${schema}' has ${STORE_MIGRATIONS.length} pending migration(s) (${STORE_MIGRATIONS.join(', ')}): run \`npm run migrate\`, or enable migrations at start`,
    ]);
  });

  it('names the unreachable server and the fix when the database is down', async () => {
    const service = runService({
      EVENT_STORE_HOST: '127.0.0.1',
      EVENT_STORE_PORT: String(await freePort()),
      EVENT_STORE_CONNECT_TIMEOUT_MS: '1000',
    });
    expect(await service.exited).toEqual({ code: 1, signal: null });
    expect(service.output()).toMatch(
      /failed to start: Cannot reach PostgreSQL at postgres@127\.0\.0\.1:\d+\/game_bot_eventstore \(.*\): start it/,
    );
  });

  it('says that PgBouncer refused the connection, with its message, rather than that the server is unreachable', async () => {
    if (findPgBouncer() === undefined) {
      console.warn('Skipped: pgbouncer is not installed (apt-get install -y pgbouncer)');
      return;
    }
    const bouncer = await startPgBouncer(testConnection(), { databases: [testConnection().database!] });
    try {
      const service = runService({
        ...testDatabaseEnv(uniqueSchema('refused')),
        EVENT_STORE_PORT: String(bouncer.port),
        EVENT_STORE_DB: 'no_such_db',
      });
      expect(await service.exited).toEqual({ code: 1, signal: null });
      expect(service.output().trim()).toMatch(
        /^Event store service failed to start: The server at postgres@127\.0\.0\.1:\d+\/no_such_db refused the connection \(08P01: no such database: no_such_db\): check the database name/,
      );
    } finally {
      await bouncer.stop();
    }
  });

  it('shuts down gracefully: stops accepting, finishes the requests in flight, then exits', async () => {
    const proxy = new TcpProxy({ host: testConnection().host!, port: testConnection().port! });
    await proxy.start();
    const port = await freePort();
    const connection = testConnection();
    const schema = uniqueSchema('shutdown');
    const service = runService({
      PORT: String(port),
      EVENT_STORE_HOST: '127.0.0.1',
      EVENT_STORE_PORT: String(proxy.port),
      EVENT_STORE_USER: connection.user!,
      EVENT_STORE_PASS: connection.password!,
      EVENT_STORE_DB: connection.database!,
      EVENT_STORE_SCHEMA: schema,
    });
    try {
      await waitFor(() => service.output().includes('listening on http://localhost'), 60_000);
      const append = (n: number) =>
        fetch(`http://127.0.0.1:${port}/streams/shutdown-1/events`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ expectedVersion: 'any', events: [{ eventType: 'Scored', data: { n } }] }),
        });
      expect((await append(1)).status).toBe(201);
      proxy.delayReplies(1_500); // the next append stays in flight for 1.5 s
      const inFlight = append(2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      service.stop();
      await waitFor(() => service.output().includes('request(s) in flight'), 5_000);
      // No longer serving: a new connection is refused, or one kept alive is answered 503 SHUTTING_DOWN.
      const late = await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined);
      if (late !== undefined) expect(late.status).toBe(503);
      const finished = await inFlight;
      expect(finished.status).toBe(201);
      expect(await finished.json()).toMatchObject({ streamId: 'shutdown-1', toVersion: 2 });
      expect(await service.exited).toEqual({ code: 0, signal: null });
      const lines = service
        .output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ message: 'Waiting up to 10000 ms for 1 request(s) in flight' }));
      // The line of the request that finished during the shutdown is written before the process goes.
      expect(lines).toContainEqual(
        expect.objectContaining({ message: 'request', method: 'POST', path: '/streams/shutdown-1/events', status: 201 }),
      );
      expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    } finally {
      service.stop();
      await proxy.restore();
      await proxy.close();
      const sql = new pg.Pool({ ...connection, max: 1 });
      await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    }
  });
});
