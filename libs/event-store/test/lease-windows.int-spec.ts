import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

/**
 * The windows in which a lease could be counted as held by two processes (docs/models.md): a
 * renewal that does not answer, and a reset while a process runs the subscription. In both, no
 * event may start once the holder's last confirmation has run out.
 */
describe('subscription leases: no event starts without a confirmed lease', () => {
  const schema = uniqueSchema('lease-windows');
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ schema, applicationName: 'lease-windows' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('stops delivering once its renewals go unanswered past the lease, and resumes when they answer', async () => {
    await t.store.appendToStream('stalled', 'no_stream', someEvents(1, 'S'));
    const delivered = new Map<number, number>();
    const subscription = t.store.subscribeToStream('stalled', 'stalled-sub', (e) => void delivered.set(e.streamVersion, Date.now()), {
      checkpointIntervalMs: 50,
    });
    await subscription.waitUntilCaughtUp();
    await sleep(1_200); // a renewal confirmed just before the stall

    // Renewals (and checkpoint writes) of this subscription now wait on its row: unanswered.
    const locker = await t.sql.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM "${schema}".subscriptions WHERE name = 'stalled-sub' FOR UPDATE`);
    const stalledAt = Date.now();
    const appendedAt = new Map<number, number>();
    for (let version = 2; version <= 26; version++) {
      await t.store.appendToStream('stalled', version - 1, someEvents(1, 'S', version));
      appendedAt.set(version, Date.now());
      await sleep(200);
    }
    await sleep(500);
    const releasedAt = Date.now();
    await locker.query('COMMIT');
    locker.release();

    // The lease lasts 3 s, and counts for 2.7 s from the sending of its last confirmed renewal.
    const lateDuringStall = [...appendedAt]
      .filter(([, at]) => at > stalledAt + 3_000)
      .filter(([version]) => (delivered.get(version) ?? Infinity) < releasedAt)
      .map(([version]) => version);
    expect(lateDuringStall).toEqual([]);
    expect([...appendedAt].filter(([, at]) => at > stalledAt + 3_000).length).toBeGreaterThan(5);
    await eventually(() => delivered.size === 26, 15_000);
    await subscription.unsubscribe();
  }, 60_000);

  it('after a reset while running, no process takes the lease before the holder has stopped', async () => {
    const other = await createTestStore({ schema, applicationName: 'lease-windows-b' });
    try {
      await t.store.appendToStream('rewound-stream', 'no_stream', someEvents(4, 'R'));
      const deliveries: Array<{ by: string; version: number; at: number }> = [];
      const handler = (by: string) => (e: { streamVersion: number }) =>
        void deliveries.push({ by, version: e.streamVersion, at: Date.now() });
      const holder = t.store.subscribeToStream('rewound-stream', 'rewound-sub', handler('a'));
      await eventually(() => deliveries.length === 4);
      const standby = other.store.subscribeToStream('rewound-stream', 'rewound-sub', handler('b'));
      await sleep(700); // standing by
      const resetAt = Date.now();
      await other.store.resetSubscription('rewound-sub', 1, { whileRunning: true });
      const { rows } = await t.sql.query<{ kept: boolean }>(
        `SELECT owner IS NULL AND lease_until > now() AS kept FROM "${schema}".subscriptions WHERE name = 'rewound-sub'`,
      );
      expect(rows[0]!.kept).toBe(true); // the lease's time stays: nobody takes it at once

      await eventually(() => deliveries.length === 7, 10_000);
      const again = deliveries.slice(4);
      expect(again.map((d) => d.version)).toEqual([2, 3, 4]);
      expect(new Set(again.map((d) => d.by)).size).toBe(1);
      // The holder renewed at most a second before the reset; its lease ran 3 s from then.
      expect(again[0]!.at - resetAt).toBeGreaterThanOrEqual(1_500);
      await Promise.all([holder.unsubscribe(), standby.unsubscribe()]);
    } finally {
      await other.close();
    }
  }, 60_000);
});
