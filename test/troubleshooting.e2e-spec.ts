import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import request from 'supertest';
import { runCli } from './helpers/cli.js';
import { codeBlocks } from './helpers/doc-commands.js';
import { eventually } from './helpers/eventually.js';
import { readDoc, sections } from './helpers/markdown-doc.js';
import { findPgBouncer, startPgBouncer } from './helpers/pgbouncer.js';
import { dumpToolsFit, PostgresCluster, postgresBinDir } from './helpers/postgres-cluster.js';
import { freePort, runService, type ServiceProcess } from './helpers/service-process.js';
import { listeningUrl } from './helpers/sse-client.js';
import { createTestApp, createTestAppBehindProxy, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv, withClient } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

const run = promisify(execFile);
const doc = readDoc('troubleshooting.md');
const cases = sections(doc, 2).map((section) => ({
  heading: section.heading,
  tested: section.text.includes('*(tested'),
  shown: codeBlocks(section.text)
    .filter((block) => block.language === 'text')
    .flatMap((block) => block.text.split('\n'))
    .filter((line) => line.trim() !== ''),
}));
/** Cases reproduced by hand only, and why they are not automated here. */
const BY_HAND = new Set([
  // test/helpers/pgbouncer.ts always sets ignore_startup_parameters, which is the fix.
  'Behind PgBouncer: `unsupported startup parameter`',
  // The log line comes from the webhook sync of a restored store with another key; covered by test/webhook-secrets.e2e-spec.ts.
  "A restored store's webhook does not start",
  // Its message is asserted by test/errors-docs.e2e-spec.ts.
  '`CORRUPTED_EVENT` on read',
  'Other cases',
]);
const ADMIN_TOKEN = 'admin-token-0123456789:admin';

/** docs/troubleshooting.md: each case is reproduced, and shows what a user sees. */
describe('docs/troubleshooting.md', () => {
  const reproductions: Record<string, () => Promise<string>> = {
    '`$all` readers see nothing new': allReadersHeldBack,
    'The service refuses to boot: pending migrations': pendingMigrationsInProduction,
    '`STORE_UNAVAILABLE`: the database cannot be reached': databaseUnreachable,
    'Behind PgBouncer: 500 `INTERNAL` and `prepared statement "es_…" already exists`': pgBouncerWithoutPooler,
    'Appends to one stream time out': appendBehindLock,
    'The pool is exhausted': poolExhausted,
    'A webhook dead-letters its deliveries': webhookDeadLetters,
    'A storm of `WRONG_EXPECTED_VERSION`': wrongExpectedVersionStorm,
    'A restored store shows no events in `$all`': restoredIntoYoungerCluster,
    'The service refuses to boot: a bad or unsafe configuration': badConfiguration,
  };

  it('reproduces every case marked tested, and says which are reproduced by hand', () => {
    expect(cases.filter((c) => c.tested).map((c) => c.heading)).toEqual(Object.keys(reproductions));
    expect(cases.filter((c) => !c.tested).map((c) => c.heading)).toEqual([...BY_HAND]);
  });

  const tested = cases.filter((c) => reproductions[c.heading] !== undefined);
  it.each(tested)('$heading', async ({ heading, shown }) => {
    const reproduce = reproductions[heading]!;
    if (heading.startsWith('Behind PgBouncer') && findPgBouncer() === undefined) {
      console.warn(`Skipped "${heading}": pgbouncer is not installed (apt-get install -y pgbouncer)`);
      return;
    }
    if (heading.startsWith('A restored store') && !(await dumpToolsFit(testConnection()))) return;
    const seen = normalized(await reproduce());
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.map(normalized).filter((line) => !seen.includes(line))).toEqual([]);
  });
});

/** What differs between runs: ids, times, numbers (HTTP statuses kept), schema and statement names, the list of migrations. */
function normalized(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- the colours of Nest's text logs
      .replace(/\u001b\[[0-9;]*m/g, '')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      .replace(/Schema '[a-z0-9_]+'/g, "Schema '<schema>'")
      .replace(/\((?:[A-Z][A-Za-z]+\d{13}(?:, )?)+\)/g, '(<migrations>)')
      .replace(/"es_[a-z_]+"/g, '"es_<statement>"')
      .replace(/(?<!"statusCode":)(?<![\d.])\d+(\.\d+)?/g, '<n>')
  );
}

async function allReadersHeldBack(): Promise<string> {
  const t = await createTestApp({ HEALTH_MAX_VISIBILITY_LAG_SECONDS: '2' }, 'ts-held');
  // An open transaction in another database of the same server: transaction ids are cluster-wide.
  const elsewhere = new pg.Client({ ...testConnection(), database: 'postgres' });
  await elsewhere.connect();
  try {
    await append(t, 'game-1', 'any');
    await elsewhere.query('BEGIN');
    await elsewhere.query('SELECT pg_current_xact_id()');
    await append(t, 'game-1', 'any');
    await sleep(2_500);
    const all = await request(t.http).get('/all/events?fromPosition=1');
    const health = await request(t.http).get('/health/ready');
    const metrics = await request(t.http).get('/metrics');
    const lag = metrics.text.split('\n').filter((line) => line.startsWith('event_store_all_visibility_lag_seconds'));
    return [all.text, health.text, ...lag].join('\n');
  } finally {
    await elsewhere.query('ROLLBACK');
    await elsewhere.end();
    await t.close();
  }
}

async function pendingMigrationsInProduction(): Promise<string> {
  const schema = uniqueSchema('ts_pending');
  const env = { ...testDatabaseEnv(schema), NODE_ENV: 'production', EVENT_STORE_TOKENS: ADMIN_TOKEN };
  try {
    const before = await bootOutput(env);
    const migrate = await runCli(['migrate'], { env: { PATH: process.env.PATH ?? '', ...testDatabaseEnv(schema) } });
    expect(migrate.code).toBe(0);
    const after = await bootOutput(env);
    return `${before}\n${after}`;
  } finally {
    await dropSchema(schema);
  }
}

async function databaseUnreachable(): Promise<string> {
  const nothing = String(await freePort());
  const env = { EVENT_STORE_HOST: '127.0.0.1', EVENT_STORE_PORT: nothing, EVENT_STORE_DB: 'game_bot_eventstore' };
  const [boot, cli] = await Promise.all([
    bootOutput(env),
    runCli(['migrate', 'status'], { env: { PATH: process.env.PATH ?? '', ...env } }),
  ]);
  expect(cli.code).toBe(1);
  const t = await createTestAppBehindProxy({ EVENT_STORE_RETRY_ATTEMPTS: '2' }, 'ts-cut');
  try {
    await t.proxy.cut();
    const answer = await request(t.http).get('/streams/game-1/events');
    return [boot, cli.stderr, answer.text].join('\n');
  } finally {
    await t.close();
  }
}

/** 16 clients appending to and reading their own streams through PgBouncer; the service's output and the failed answers. */
async function pgBouncerWithoutPooler(): Promise<string> {
  const bouncer = await startPgBouncer(testConnection());
  const schemas = [uniqueSchema('ts_pgb'), uniqueSchema('ts_pgb_fixed')];
  const env = (schema: string) => ({ ...testDatabaseEnv(schema), EVENT_STORE_PORT: String(bouncer.port), LOG_FORMAT: 'text' });
  try {
    const [without, fixed] = await Promise.all([
      underLoad(env(schemas[0]!)),
      underLoad({ ...env(schemas[1]!), EVENT_STORE_POOLER: 'transaction' }),
    ]);
    expect(without.failed.length).toBeGreaterThan(0);
    expect(fixed.failed).toEqual([]);
    return [without.output, ...without.failed].join('\n');
  } finally {
    await bouncer.stop();
    for (const schema of schemas) await dropSchema(schema);
  }
}

async function underLoad(env: Record<string, string>): Promise<{ output: string; failed: string[] }> {
  const port = await freePort();
  const service = runService({ ...env, PORT: String(port) });
  try {
    await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
    const base = `http://127.0.0.1:${port}`;
    const failed: string[] = [];
    const client = async (n: number): Promise<void> => {
      for (let i = 0; i < 20; i += 1) {
        const appended = await fetch(`${base}/streams/pgb-${n}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ expectedVersion: 'any', events: [{ eventType: 'Tick', data: { n, i } }] }),
        });
        if (appended.status !== 201) failed.push(await appended.text());
        const read = await fetch(`${base}/streams/pgb-${n}/events?limit=5`);
        if (read.status >= 500) failed.push(await read.text());
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, n) => client(n)));
    return { output: service.output(), failed };
  } finally {
    await stopService(service);
  }
}

async function appendBehindLock(): Promise<string> {
  const t = await createTestApp({ EVENT_STORE_OPERATION_TIMEOUT_MS: '3000' }, 'ts-lock');
  try {
    await append(t, 'game-1', 'any');
    return await withStreamRowLocked(t.schema, 'game-1', async () => {
      const started = Date.now();
      const answer = await append(t, 'game-1', 'any');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
      return answer.text;
    });
  } finally {
    await t.close();
  }
}

async function poolExhausted(): Promise<string> {
  const t = await createTestApp(
    { EVENT_STORE_POOL_SIZE: '2', EVENT_STORE_CONNECT_TIMEOUT_MS: '1000', EVENT_STORE_OPERATION_TIMEOUT_MS: '10000' },
    'ts-pool',
  );
  try {
    await append(t, 'game-1', 'any');
    return await withStreamRowLocked(t.schema, 'game-1', async () => {
      const holding = [append(t, 'game-1', 'any'), append(t, 'game-1', 'any')];
      await eventually(() => waitingOnLocks(t.schema).then((count) => count === 2));
      const answer = await request(t.http).get('/streams/game-2/events');
      void Promise.all(holding);
      return answer.text;
    });
  } finally {
    await t.close();
  }
}

async function webhookDeadLetters(): Promise<string> {
  const t = await createTestApp({}, 'ts-hook');
  const receiver = await startWebhookReceiver();
  receiver.answer = () => 500;
  try {
    const url = `http://localhost:${new URL(receiver.url).port}/hooks/scores`;
    const created = await request(t.http)
      .post('/subscriptions')
      .send({
        name: 'scores',
        url,
        startFrom: 'end',
        retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100 },
        failedRetry: { maxAttempts: 2, initialDelayMs: 500, maxDelayMs: 500 },
      });
    expect(created.status).toBe(201);
    await eventually(async () => (await request(t.http).get('/subscriptions/scores')).body.owner !== null, 20_000);
    await append(t, 'game-7', 'any');
    await eventually(async () => (await request(t.http).get('/subscriptions/scores')).body.dead === 1, 30_000);
    const dead = await request(t.http).get('/subscriptions/scores/failed?status=dead');
    receiver.answer = () => 200;
    const replay = await request(t.http).post('/subscriptions/scores/failed/replay?status=dead');
    expect(replay.body).toEqual({ replayed: 1 });
    await eventually(() => receiver.accepted().length === 1, 10_000);
    return dead.text;
  } finally {
    await t.close();
    await receiver.close();
  }
}

async function wrongExpectedVersionStorm(): Promise<string> {
  const t = await createTestApp({}, 'ts-storm');
  try {
    const base = await listeningUrl(t.http);
    const stream = `leaderboard-${Date.now()}`;
    const refused: string[] = [];
    const writer = async (n: number): Promise<void> => {
      for (let i = 0; i < 10; i += 1) {
        const info = await fetch(`${base}/streams/${stream}`);
        const version = info.status === 404 ? 0 : ((await info.json()) as { version: number }).version;
        const answer = await fetch(`${base}/streams/${stream}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ expectedVersion: version, events: [{ eventType: 'ScoreAdded', data: { n, i } }] }),
        });
        if (answer.status === 409) refused.push(await answer.text());
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, n) => writer(n)));
    const metrics = (await request(t.http).get('/metrics')).text.split('\n');
    const counted = metrics.filter((line) => line.startsWith('http_request_duration_seconds_count') && line.includes('status="409"'));
    expect(refused.length).toBeGreaterThan(0);
    return [refused[0], ...counted].join('\n');
  } finally {
    await t.close();
  }
}

/** A store dumped from the test server and restored into a new cluster, whose transaction counter is far behind. */
async function restoredIntoYoungerCluster(): Promise<string> {
  const schema = uniqueSchema('ts_restore');
  const source = await createTestApp({ EVENT_STORE_SCHEMA: schema }, 'ts-restore');
  const cluster = await PostgresCluster.start();
  try {
    await burnTransactionIdsUpTo(20_000);
    for (const streamId of ['game-1', 'game-2', 'game-3']) await append(source, streamId, 'any');
    const dump = join(cluster.root, 'store.dump');
    const server = testConnection();
    const client = { ...process.env, PGPASSWORD: server.password ?? '' };
    await run(
      join(postgresBinDir(), 'pg_dump'),
      ['-h', server.host, '-p', String(server.port), '-U', server.user!, '-d', server.database!, '-n', schema, '-Fc', '-f', dump],
      { env: client },
    );
    await withClient(cluster.connection, (c) => c.query('CREATE DATABASE game_bot_eventstore'));
    const target = ['-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'postgres'];
    await run(join(postgresBinDir(), 'pg_restore'), [...target, '-d', 'game_bot_eventstore', dump]);
    const restored = await createTestApp(
      {
        EVENT_STORE_HOST: '127.0.0.1',
        EVENT_STORE_PORT: String(cluster.port),
        EVENT_STORE_DB: 'game_bot_eventstore',
        EVENT_STORE_SCHEMA: schema,
      },
      'ts-restored',
    );
    try {
      expect((await request(restored.http).get('/streams/game-1/events')).body.events).toHaveLength(1);
      const all = await request(restored.http).get('/all/events?limit=5');
      const { rows } = await withClient({ ...cluster.connection, database: 'game_bot_eventstore' }, (c) =>
        c.query<{ restored: string; current: string }>(
          `SELECT max(transaction_id)::text AS restored, pg_current_xact_id()::text AS current FROM "${schema}".events`,
        ),
      );
      expect(BigInt(rows[0]!.restored)).toBeGreaterThan(BigInt(rows[0]!.current));
      return `${all.text}\n${rows[0]!.restored}|${rows[0]!.current}`;
    } finally {
      await restored.app.close();
    }
  } finally {
    await cluster.destroy();
    await source.close();
  }
}

async function badConfiguration(): Promise<string> {
  const outputs = await Promise.all([
    bootOutput({ EVENT_STORE_POOL_SIZE: 'lots' }),
    bootOutput({ NODE_ENV: 'production', EVENT_STORE_HOST: '127.0.0.1' }),
    bootOutput({ NODE_ENV: 'production' }),
  ]);
  return outputs.join('\n');
}

function append(t: TestApp, streamId: string, expectedVersion: string | number): Promise<request.Response> {
  return Promise.resolve(
    request(t.http)
      .post(`/streams/${streamId}/events`)
      .send({ expectedVersion, events: [{ eventType: 'GuessProcessed', data: { guess: 'slate' } }] }),
  );
}

/** The output of a service started with `env` that is expected to fail its boot. */
async function bootOutput(env: Record<string, string>): Promise<string> {
  const service = runService({ PORT: String(await freePort()), ...env });
  const exit = await Promise.race([service.exited, sleep(90_000).then(() => undefined)]);
  if (exit === undefined) {
    await stopService(service);
    throw new Error(`The service did not stop at boot:\n${service.output()}`);
  }
  expect(exit.code).toBe(1);
  return service.output();
}

async function stopService(service: ServiceProcess): Promise<void> {
  service.stop();
  const stopped = await Promise.race([service.exited, sleep(15_000).then(() => undefined)]);
  if (stopped === undefined) {
    service.kill('SIGKILL');
    await service.exited;
  }
}

/** Runs `work` while another session holds the stream's row lock, as a long transaction would. */
async function withStreamRowLocked<T>(schema: string, streamId: string, work: () => Promise<T>): Promise<T> {
  return withClient(testConnection(), async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT 1 FROM "${schema}".streams WHERE stream_id = $1 FOR UPDATE`, [streamId]);
      return await work();
    } finally {
      await client.query('ROLLBACK');
    }
  });
}

/** How many of the store's statements on `schema` wait for a lock. */
async function waitingOnLocks(schema: string): Promise<number> {
  const { rows } = await withClient(testConnection(), (client) =>
    client.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`,
      [`"${schema}".streams`],
    ),
  );
  return Number(rows[0]!.count);
}

/**
 * Makes the test server's transaction counter reach `target` (a server created for this run may
 * be younger than the new cluster needs): transactions of one statement, a thousand per round trip.
 */
async function burnTransactionIdsUpTo(target: number): Promise<void> {
  await withClient(testConnection(), async (client) => {
    for (;;) {
      const { rows } = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      const missing = target - Number(rows[0]!.xid);
      if (missing <= 0) return;
      await client.query('BEGIN; SELECT pg_current_xact_id(); COMMIT;'.repeat(Math.min(missing, 1_000)));
    }
  });
}

async function dropSchema(schema: string): Promise<void> {
  await withClient(testConnection(), (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}
