import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/helpers/eventually.js';
import { TcpProxy } from '../../../test/helpers/tcp-proxy.js';
import { testConnection } from '../../../test/helpers/test-database.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

/** What holds a stream's row lock: a plain `FOR UPDATE`, or an update as an open append holds it. */
const LOCKS = [
  (schema: string) => `SELECT 1 FROM "${schema}".streams WHERE stream_id = $1 FOR UPDATE`,
  (schema: string) => `UPDATE "${schema}".streams SET updated_at = updated_at WHERE stream_id = $1`,
];

/** Opens a transaction on a raw client that holds `streamId`'s row lock; `end` commits or rolls back. */
async function lockStream(t: TestStore, streamId: string, round: number): Promise<{ end(): Promise<void> }> {
  const client: pg.PoolClient = await t.sql.connect();
  await client.query('BEGIN');
  await client.query(LOCKS[round % LOCKS.length]!(t.schema), [streamId]);
  return {
    async end() {
      try {
        await client.query(round % 2 === 0 ? 'COMMIT' : 'ROLLBACK');
      } finally {
        client.release();
      }
    },
  };
}

async function storedEvents(t: TestStore, streamId: string): Promise<number> {
  const { rows } = await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".events WHERE stream_id = $1`, [streamId]);
  return rows[0]!.n;
}

async function streamRow(t: TestStore, streamId: string): Promise<{ deleted: boolean; metadata: object }> {
  const { rows } = await t.sql.query<{ deleted: boolean; metadata: object }>(
    `SELECT deleted_at IS NOT NULL AS deleted, metadata FROM "${t.schema}".streams WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0]!;
}

describe('an operation reported as TIMEOUT never takes effect later', () => {
  let t: TestStore;

  beforeAll(async () => {
    // The server-side statement timeout is far away: what ends the waits below is the client's
    // deadline (an append's timeoutMs, the store's operationTimeoutMs for deletes and metadata).
    t = await createTestStore({ connection: testConnection(), statementTimeoutMs: 10_000, operationTimeoutMs: 300 }, 'hardening');
  });
  afterAll(async () => {
    await t.close();
  });

  it('an append blocked on the stream lock, TIMEOUT, is not stored when the lock is released right after', async () => {
    await t.store.appendToStream('blocked-append', 'no_stream', someEvents(1));
    for (let round = 0; round < 30; round++) {
      const lock = await lockStream(t, 'blocked-append', round);
      const outcome = await t.store.appendToStream('blocked-append', 'any', someEvents(1), { timeoutMs: 300 }).catch((e: unknown) => e);
      await lock.end();
      expect(outcome).toMatchObject({ code: 'TIMEOUT' });
      await sleep(50);
      expect({ round, stored: await storedEvents(t, 'blocked-append') }).toEqual({ round, stored: 1 });
    }
  });

  it('an append whose lock is released around its deadline is either stored and reported, or TIMEOUT and not stored', async () => {
    await t.store.appendToStream('racing-append', 'no_stream', someEvents(1));
    let stored = 1;
    for (let round = 0; round < 30; round++) {
      const lock = await lockStream(t, 'racing-append', round);
      const release = sleep(285 + round).then(() => lock.end());
      const outcome = await t.store.appendToStream('racing-append', 'any', someEvents(1), { timeoutMs: 300 }).catch((e: unknown) => e);
      await release;
      await sleep(50);
      const succeeded = !(outcome instanceof Error);
      if (!succeeded) {
        expect(outcome).toMatchObject({ code: 'TIMEOUT' });
      }
      stored += succeeded ? 1 : 0;
      expect({ round, succeeded, stored: await storedEvents(t, 'racing-append') }).toEqual({ round, succeeded, stored });
    }
  });

  it('a delete blocked on the stream lock, TIMEOUT, does not delete when the lock is released right after', async () => {
    await t.store.appendToStream('blocked-delete', 'no_stream', someEvents(1));
    for (let round = 0; round < 10; round++) {
      const lock = await lockStream(t, 'blocked-delete', round);
      const outcome = await t.store.deleteStream('blocked-delete', 'any').catch((e: unknown) => e);
      await lock.end();
      expect(outcome).toMatchObject({ code: 'TIMEOUT' });
      await sleep(50);
      expect({ round, ...(await streamRow(t, 'blocked-delete')) }).toMatchObject({ round, deleted: false });
    }
  });

  it('a metadata write blocked on the stream lock, TIMEOUT, is not stored when the lock is released right after', async () => {
    await t.store.appendToStream('blocked-metadata', 'no_stream', someEvents(1));
    for (let round = 0; round < 10; round++) {
      const lock = await lockStream(t, 'blocked-metadata', round);
      const outcome = await t.store.setStreamMetadata('blocked-metadata', { round }).catch((e: unknown) => e);
      await lock.end();
      expect(outcome).toMatchObject({ code: 'TIMEOUT' });
      await sleep(50);
      expect({ round, ...(await streamRow(t, 'blocked-metadata')) }).toEqual({ round, deleted: false, metadata: {} });
    }
  });
});

describe('a write whose cancellation the server never confirms', () => {
  let proxy: TcpProxy;
  let t: TestStore;

  beforeAll(async () => {
    const target = testConnection();
    proxy = new TcpProxy({ host: target.host, port: target.port! });
    await proxy.start();
    t = await createTestStore(
      { connection: { ...target, host: '127.0.0.1', port: proxy.port }, statementTimeoutMs: 10_000, connectionTimeoutMs: 500 },
      'unconfirmed',
    );
  });
  afterAll(async () => {
    await proxy.restore();
    await t.close();
    await proxy.close();
  });

  it('is STORE_UNAVAILABLE with an unknown outcome, not TIMEOUT: it may still take effect, and here does', async () => {
    await t.store.appendToStream('unconfirmed', 'no_stream', someEvents(1));
    // Open connections enough for the append and the store's own background work: the pooled
    // connections keep working while the cancel request, on a new connection, is swallowed.
    await Promise.all(Array.from({ length: 4 }, () => t.store.readStreamForward('unconfirmed')));
    const lock = await lockStream(t, 'unconfirmed', 0);
    try {
      proxy.blackhole();
      const started = Date.now();
      const outcome = await t.store.appendToStream('unconfirmed', 'any', someEvents(1), { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(outcome).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('unknown') });
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await proxy.restore();
      await lock.end();
    }
    await eventually(async () => (await storedEvents(t, 'unconfirmed')) === 2);
  });
});

describe('waiting for a pooled connection', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore(
      {
        connection: testConnection(),
        poolSize: 2,
        connectionTimeoutMs: 500,
        operationTimeoutMs: 10_000,
        statementTimeoutMs: 10_000,
        applicationName: 'pool-wait-store',
      },
      'poolwait',
    );
  });
  afterAll(async () => {
    await t.close();
  });

  /** Both pooled connections taken by appends waiting on row locks that raw clients hold. */
  async function exhaustPool(): Promise<{ release(): Promise<void> }> {
    await Promise.all(['held-1', 'held-2'].map((id) => t.store.appendToStream(id, 'any', someEvents(1))));
    const locks = [await lockStream(t, 'held-1', 0), await lockStream(t, 'held-2', 0)];
    const holding = ['held-1', 'held-2'].map((id) => t.store.appendToStream(id, 'any', someEvents(1)));
    // Both appends wait on the locks, each on one of the pool's two connections.
    await eventually(async () => {
      const { rows } = await t.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pool-wait-store' AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n === 2;
    });
    return {
      async release() {
        await Promise.all(locks.map((lock) => lock.end()));
        await Promise.all(holding);
      },
    };
  }

  it('a busy pool fails after connectionTimeoutMs with STORE_UNAVAILABLE naming the pool, not at the operation deadline', async () => {
    const pool = await exhaustPool();
    try {
      const started = Date.now();
      const error = await t.store.readStreamForward('held-1').catch((e: unknown) => e);
      const waited = Date.now() - started;
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/pool.*poolSize/s) });
      expect(waited).toBeGreaterThanOrEqual(450);
      expect(waited).toBeLessThan(1_200);
    } finally {
      await pool.release();
    }
    // The pool serves again once its connections come back.
    expect(await t.store.readStreamForward('held-1')).toHaveLength(2);
  });

  it('an operation whose own deadline comes before connectionTimeoutMs is TIMEOUT at its deadline', async () => {
    const pool = await exhaustPool();
    try {
      const started = Date.now();
      await expect(t.store.appendToStream('other', 'any', someEvents(1), { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(450);
    } finally {
      await pool.release();
    }
    expect(await storedEvents(t, 'other')).toBe(0);
  });
});
