import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { TcpProxy } from '../../../test/helpers/tcp-proxy.js';
import { testConnection } from '../../../test/helpers/test-database.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

describe('subscriptions through outages, shutdowns and quick unsubscribes', () => {
  const schema = uniqueSchema('resilience');
  let t: TestStore;
  const heldLeases = async (pattern: string): Promise<number> => {
    const { rows } = await t.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".subscriptions WHERE name LIKE $1 AND owner IS NOT NULL AND lease_until > now()`,
      [pattern],
    );
    return rows[0]!.n;
  };

  beforeAll(async () => {
    t = await createTestStore({ schema });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a database outage longer than the retries pauses a subscription; it resumes when the database is back', async () => {
    const target = testConnection();
    const proxy = new TcpProxy({ host: target.host, port: target.port! });
    await proxy.start();
    const through = await createTestStore(
      {
        schema,
        connection: { ...target, host: '127.0.0.1', port: proxy.port },
        retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 20 },
        connectionTimeoutMs: 500,
      },
      undefined,
    );
    try {
      const seen: RecordedEvent[] = [];
      const subscription = through.store.subscribeToStream('outage', 'outlasting', (e) => void seen.push(e), { pollIntervalMs: 100 });
      await t.store.appendToStream('outage', 'no_stream', someEvents(1, 'O'));
      await eventually(() => seen.length === 1);
      await proxy.cut();
      await sleep(2_000);
      await t.store.appendToStream('outage', 1, someEvents(1, 'O', 1));
      await proxy.restore();
      await eventually(() => seen.length === 2, 15_000);
      const settled = await Promise.race([
        subscription.stopped.then(
          () => 'stopped',
          () => 'failed',
        ),
        sleep(50).then(() => 'running'),
      ]);
      expect(settled).toBe('running');
      await subscription.unsubscribe();
    } finally {
      await proxy.restore();
      await through.app.close().then(() => through.sql.end());
      await proxy.close();
    }
  });

  it('unsubscribing a standby while it tries for the lease never leaves the lease held', async () => {
    const holder = t.store.subscribeToStream('quick', 'quick', () => undefined);
    await holder.waitUntilCaughtUp();
    const standbys = await createTestStore({ schema, applicationName: 'quick-standbys' }); // another process
    try {
      for (let i = 0; i < 10; i++) {
        const standby = standbys.store.subscribeToStream('quick', 'quick', () => undefined);
        await sleep(i * 60);
        await standby.unsubscribe();
      }
    } finally {
      await standbys.app.close().then(() => standbys.sql.end());
    }
    await holder.unsubscribe();
    expect(await heldLeases('quick')).toBe(0);
  });

  it('closing the application stops its group members: their partitions are free afterwards', async () => {
    const member = await createTestStore({ schema, applicationName: 'closing-member' });
    const group = member.store.subscribeToAll('closing', () => undefined, { group: { partitions: 3 } });
    await eventually(async () => (await heldLeases('closing:%')) === 3, 10_000);
    await group.waitUntilCaughtUp();
    await member.app.close().then(() => member.sql.end());
    await sleep(1_500);
    expect(await heldLeases('closing:%')).toBe(0);
  });

  it('a subscription deleted by another process stops there too, neither delivering again nor re-creating its row', async () => {
    const other = await createTestStore({ schema });
    try {
      await t.store.appendToStream('deleted-elsewhere', 'no_stream', someEvents(3, 'D'));
      const seen: number[] = [];
      const holder = other.store.subscribeToStream('deleted-elsewhere', 'doomed', (e) => void seen.push(e.streamVersion));
      await holder.waitUntilCaughtUp();
      const standby = t.store.subscribeToStream('deleted-elsewhere', 'doomed', (e) => void seen.push(e.streamVersion));
      await sleep(200);
      await t.store.deleteSubscription('doomed'); // stops the standby here, deletes the row under the holder
      await holder.stopped; // its next renewal fails, the row is gone: it ends
      await standby.stopped;
      await t.store.appendToStream('deleted-elsewhere', 3, someEvents(1, 'D', 3));
      await sleep(500);
      expect(seen).toEqual([1, 2, 3]);
      const { rows } = await t.sql.query(`SELECT name FROM "${schema}".subscriptions WHERE name = 'doomed'`);
      expect(rows).toEqual([]);
    } finally {
      await other.app.close().then(() => other.sql.end());
    }
  });

  it('resets the checkpoint of a subscription another process runs: it resumes from there within a renewal', async () => {
    const other = await createTestStore({ schema });
    try {
      await t.store.appendToStream('reset-running', 'no_stream', someEvents(4, 'R'));
      const seen: number[] = [];
      const running = other.store.subscribeToStream('reset-running', 'rewound', (e) => void seen.push(e.streamVersion));
      await eventually(() => seen.length === 4);
      await expect(t.store.resetSubscription('rewound', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await t.store.resetSubscription('rewound', 1, { whileRunning: true });
      await eventually(() => seen.length === 7, 10_000);
      expect(seen).toEqual([1, 2, 3, 4, 2, 3, 4]);
      await expect(t.store.resetSubscription('no-such-subscription', 0, { whileRunning: true })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await running.unsubscribe();
    } finally {
      await other.app.close().then(() => other.sql.end());
    }
  });
});
