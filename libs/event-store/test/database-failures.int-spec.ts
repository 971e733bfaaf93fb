import { EventStoreTimeoutError, StoreUnavailableError } from '@game-bot/event-store';
import { testConnection } from '../../../test/helpers/test-database.js';
import { TcpProxy } from '../../../test/helpers/tcp-proxy.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

describe('when the database fails', () => {
  let proxy: TcpProxy;
  let t: TestStore;

  beforeAll(async () => {
    const target = testConnection();
    proxy = new TcpProxy({ host: target.host, port: target.port! });
    await proxy.start();
    t = await createTestStore(
      {
        connection: { ...target, host: '127.0.0.1', port: proxy.port },
        connectionTimeoutMs: 500,
        statementTimeoutMs: 1_000,
        operationTimeoutMs: 3_000,
        retry: { maxAttempts: 4, initialDelayMs: 50, maxDelayMs: 200 },
        applicationName: 'failure-test-store',
      },
      'failures',
    );
  });
  afterAll(async () => {
    await proxy.restore();
    await t.close();
    await proxy.close();
  });

  it('an unreachable database gives STORE_UNAVAILABLE quickly, and the store recovers when it returns', async () => {
    await t.store.appendToStream('down-1', 'no_stream', someEvents(1));
    await proxy.cut();
    const started = Date.now();
    await expect(t.store.appendToStream('down-1', 'any', someEvents(1))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(t.store.readStreamForward('down-1')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(t.store.readAllForward()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(5_000);

    await proxy.restore();
    await t.store.appendToStream('down-1', 1, someEvents(1));
    expect(await t.store.readStreamForward('down-1')).toHaveLength(2);
  });

  it('a database that stops answering gives TIMEOUT or STORE_UNAVAILABLE within the deadline, never a hang', async () => {
    await proxy.cut();
    proxy.blackhole();
    await proxy.restore();
    proxy.blackhole();
    const started = Date.now();
    const error = await t.store.readStreamForward('down-1').catch((e: unknown) => e);
    expect([EventStoreTimeoutError, StoreUnavailableError].some((type) => error instanceof type)).toBe(true);
    expect(Date.now() - started).toBeLessThan(4_000);
    await proxy.cut();
    await proxy.restore();
    expect(await t.store.readStreamForward('down-1')).toHaveLength(2);
  });

  it('connections killed by the server are replaced transparently', async () => {
    await t.store.readStreamForward('down-1');
    const { rows } = await t.sql.query<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'failure-test-store'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(await t.store.readStreamForward('down-1')).toHaveLength(2);
    await expect(t.store.appendToStream('down-1', 2, someEvents(1))).resolves.toMatchObject({ toVersion: 3 });
  });

  it('a statement past its time limit is TIMEOUT, and stores nothing', async () => {
    const blocker = await t.sql.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${t.schema}".streams WHERE stream_id = 'down-1' FOR UPDATE`);
      const error = await t.store.appendToStream('down-1', 'any', someEvents(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EventStoreTimeoutError);
      expect(error).toMatchObject({ code: 'TIMEOUT' });
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    expect(await t.store.readStreamForward('down-1')).toHaveLength(3);
  });

  it('a connection that timed out on the client side is never reused: no later append is lost in its transaction', async () => {
    const target = testConnection();
    const slow = await createTestStore(
      {
        connection: { ...target, host: '127.0.0.1', port: proxy.port },
        poolSize: 1,
        statementTimeoutMs: 500,
        connectionTimeoutMs: 500,
        retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 50 },
        applicationName: 'slow-replies-store',
      },
      'slowreplies',
    );
    try {
      await slow.store.appendToStream('x', 'no_stream', someEvents(1));
      proxy.delayReplies(1_500);
      await expect(slow.store.deleteStream('x', 1)).rejects.toMatchObject({ code: 'TIMEOUT' });
      proxy.delayReplies(0);
      const appended = await slow.store.appendToStream('y', 'no_stream', someEvents(3));
      expect(appended).toMatchObject({ fromVersion: 1, toVersion: 3 });
      const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM "${slow.schema}".events WHERE stream_id = 'y'`);
      expect(rows[0].n).toBe(3);
      const idle = await t.sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'slow-replies-store' AND state = 'idle in transaction'`,
      );
      expect(idle.rows[0].n).toBe(0);
    } finally {
      proxy.delayReplies(0);
      await slow.close();
    }
  });

  it('an append honours its own deadline, even while the statement timeout is longer', async () => {
    const patient = await createTestStore({ connection: testConnection(), statementTimeoutMs: 5_000 }, 'deadline');
    const blocker = await patient.sql.connect();
    try {
      await patient.store.appendToStream('locked', 'no_stream', someEvents(1));
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM "${patient.schema}".streams WHERE stream_id = 'locked' FOR UPDATE`);
      for (const expected of ['any', 1, 'no_stream'] as const) {
        const started = Date.now();
        await expect(patient.store.appendToStream('locked', expected, someEvents(1), { timeoutMs: 300 })).rejects.toMatchObject({
          code: 'TIMEOUT',
        });
        expect(Date.now() - started).toBeLessThan(1_000);
      }
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    expect(await patient.store.readStreamForward('locked')).toHaveLength(1);
    await patient.close();
  });
});
