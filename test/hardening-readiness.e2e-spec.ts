import pg from 'pg';
import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { testConnection } from './helpers/test-database.js';

const READY_TIMEOUT_MS = 1_500;
/** Room for Terminus, the HTTP round trip and a loaded CI machine on top of the limit. */
const MARGIN_MS = 1_000;
/** Longest the lock is held: well past the limit, so that a readiness answer waiting on it shows. */
const LOCK_MS = 8_000;

/** An `ACCESS EXCLUSIVE` lock held in a transaction; `release` commits it (once). */
interface HeldLock {
  release(): Promise<void>;
}

describe('readiness under a locked events table', () => {
  let t: TestApp;
  let sql: pg.Client;
  let lock: HeldLock | undefined;
  beforeAll(async () => {
    // The visibility check looks at every transaction on the server, other test files' included.
    const env = { HEALTH_READY_TIMEOUT_MS: String(READY_TIMEOUT_MS), HEALTH_MAX_VISIBILITY_LAG_SECONDS: '86400' };
    t = await createTestApp(env, 'readiness');
    sql = new pg.Client(testConnection());
    await sql.connect();
  });
  afterAll(async () => {
    await lock?.release();
    await sql.end();
    await t.close();
  });

  /**
   * Takes `ACCESS EXCLUSIVE` on the service's events table in a transaction of its own, for at most
   * `LOCK_MS`. The test gives it back as soon as it has seen the answer: taking this lock gives the
   * transaction an xid, which holds `$all` readers back in every schema of the server, other test
   * files' included.
   */
  const lockEvents = async (): Promise<HeldLock> => {
    await sql.query('BEGIN');
    await sql.query(`LOCK TABLE "${t.schema}".events IN ACCESS EXCLUSIVE MODE`);
    let released: Promise<void> | undefined;
    const release = (): Promise<void> => {
      clearTimeout(timer);
      released ??= sql.query('COMMIT').then(() => undefined);
      return released;
    };
    const timer = setTimeout(() => void release(), LOCK_MS);
    return { release };
  };

  it('answers within HEALTH_READY_TIMEOUT_MS with 503, naming the checks that did not answer, then 200 after the lock', async () => {
    expect((await request(t.http).get('/health/ready')).status).toBe(200);
    lock = await lockEvents();

    const started = Date.now();
    const during = await request(t.http).get('/health/ready');
    const elapsed = Date.now() - started;

    expect(elapsed).toBeLessThan(READY_TIMEOUT_MS + MARGIN_MS);
    expect(during.status).toBe(503);
    const late = { status: 'down', message: `did not answer within ${READY_TIMEOUT_MS} ms` };
    expect(during.body.details).toMatchObject({ subscriptions: late, webhooks: late, database: { status: 'up' } });
    // Every check that is down is down for not answering: none is blamed for another's wait.
    for (const [key, check] of Object.entries(during.body.details as Record<string, { status: string; message?: string }>)) {
      expect({ key, ...check }).toMatchObject(check.status === 'up' ? { key, status: 'up' } : { key, ...late });
    }

    // The checks' statements are cancelled on the server, not left queued behind the lock.
    const waiting = async (): Promise<number> => {
      const { rows } = await sql.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pg_locks WHERE relation = '"${t.schema}".events'::regclass AND NOT granted`,
      );
      return rows[0]!.count;
    };
    await eventually(async () => (await waiting()) === 0, 1_000);

    await lock.release();
    await eventually(async () => (await request(t.http).get('/health/ready')).status === 200, 5_000);
  });
});
