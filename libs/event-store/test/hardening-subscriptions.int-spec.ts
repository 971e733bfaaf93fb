import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

describe('subscriptions: one runner per name in a process, a listener that reconnects quickly', () => {
  const schema = uniqueSchema('hardening-subs');
  let t: TestStore;
  const running: Subscription[] = [];
  const track = (subscription: Subscription): Subscription => (running.push(subscription), subscription);

  beforeAll(async () => {
    t = await createTestStore({ schema, applicationName: 'hardening-subs' });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.unsubscribe()));
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses a second subscription of a running name; only the first delivers; once it stops, the name resumes from its checkpoint', async () => {
    await t.store.appendToStream('dup-stream', 'no_stream', someEvents(5, 'Dup'));
    const first: number[] = [];
    const second: number[] = [];
    const subscription = track(
      t.store.subscribeToStream('dup-stream', 'dup-scores', (e) => void first.push(e.streamVersion), { checkpointIntervalMs: 20 }),
    );
    await subscription.waitUntilCaughtUp();

    const again = (): Subscription =>
      track(t.store.subscribeToStream('dup-stream', 'dup-scores', (e) => void second.push(e.streamVersion)));
    expect(again).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/'dup-scores'.*unsubscribe/) }),
    );
    await t.store.appendToStream('dup-stream', 5, someEvents(2, 'Dup', 5));
    await eventually(() => first.length === 7);
    await sleep(300);
    expect(first).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(second).toEqual([]);

    await subscription.unsubscribe();
    await t.store.appendToStream('dup-stream', 7, someEvents(2, 'Dup', 7));
    await again().waitUntilCaughtUp();
    expect(second).toEqual([8, 9]);
    expect(first).toHaveLength(7);
  });

  it('refuses subscribeToAll twice under one name, and a group under the name of a plain subscription (and back)', async () => {
    const seen: string[] = [];
    const filter = { streamPrefix: 'dup-all-' };
    track(t.store.subscribeToAll('dup-all', (e) => void seen.push(e.eventId), { filter }));
    expect(() => track(t.store.subscribeToAll('dup-all', (e) => void seen.push(e.eventId), { filter }))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => t.store.subscribeToAll('dup-all', () => undefined, { group: { partitions: 2 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    track(t.store.subscribeToAll('dup-group', () => undefined, { group: { partitions: 2 } }));
    expect(() => t.store.subscribeToAll('dup-group', () => undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await t.store.appendToStream('dup-all-1', 'no_stream', someEvents(3, 'DupAll'));
    await eventually(() => seen.length === 3);
    await sleep(300);
    expect(new Set(seen).size).toBe(3);
    expect(seen).toHaveLength(3);
  });

  it('two members of one group in one process share its partitions and handle each event once', async () => {
    const handled: Array<{ member: number; id: string }> = [];
    const options = { group: { partitions: 4 }, filter: { streamPrefix: 'dup-grp-' } };
    const members = [0, 1].map((member) =>
      track(t.store.subscribeToAll('dup-members', (e) => void handled.push({ member, id: e.eventId }), options)),
    ) as Array<Subscription & { partitions: number[] }>;
    for (let i = 0; i < 8; i++) await t.store.appendToStream(`dup-grp-${i}`, 'no_stream', someEvents(2, 'Grp'));
    await eventually(() => handled.length === 16, 15_000);
    await eventually(() => members.every((m) => m.partitions.length === 2), 15_000);
    expect(members.flatMap((m) => m.partitions).sort()).toEqual([0, 1, 2, 3]);
    await sleep(300);
    expect(new Set(handled.map((h) => h.id)).size).toBe(16);
    expect(handled).toHaveLength(16);
  });

  it('a name is free again once its subscription halted or was deleted', async () => {
    await t.store.appendToStream('dup-halt', 'no_stream', someEvents(2, 'Halt'));
    const halting = track(
      t.store.subscribeToStream(
        'dup-halt',
        'dup-halting',
        () => {
          throw new Error('receiver down');
        },
        { retry: { maxAttempts: 1 } },
      ),
    );
    await expect(halting.stopped).rejects.toThrow('receiver down');
    const resumed: number[] = [];
    await track(t.store.subscribeToStream('dup-halt', 'dup-halting', (e) => void resumed.push(e.streamVersion))).waitUntilCaughtUp();
    expect(resumed).toEqual([1, 2]);

    await t.store.deleteSubscription('dup-halting');
    const recreated: number[] = [];
    await track(t.store.subscribeToStream('dup-halt', 'dup-halting', (e) => void recreated.push(e.streamVersion))).waitUntilCaughtUp();
    expect(recreated).toEqual([1, 2]);
  });

  it('the listening connection reconnects quickly after each of several blips in a row, and still wakes subscribers', async () => {
    const listener = await createTestStore({ schema, applicationName: 'hardening-blips' });
    try {
      const seen: number[] = [];
      // Polling slower than the test: only a notification can deliver the last event in time.
      const subscription = listener.store.subscribe('blips', (e) => void seen.push(e.streamVersion), { pollIntervalMs: 60_000 });
      await subscription.waitUntilCaughtUp();
      const listening = async (): Promise<number | undefined> => {
        const { rows } = await t.sql.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = 'hardening-blips-listener' AND query ILIKE 'LISTEN%'`,
        );
        return rows[0]?.pid;
      };
      await eventually(async () => (await listening()) !== undefined, 5_000);
      const downtimes: number[] = [];
      for (let blip = 0; blip < 6; blip++) {
        const pid = (await listening())!;
        const killedAt = Date.now();
        await t.sql.query('SELECT pg_terminate_backend($1)', [pid]);
        await eventually(async () => ![undefined, pid].includes(await listening()), 10_000);
        downtimes.push(Date.now() - killedAt);
      }
      // The backoff grew 100, 200, 400, 800, 1600, 3200 ms when only a cleanly ended connection reset it.
      expect(downtimes.filter((ms) => ms >= 1_000)).toEqual([]);
      await t.store.appendToStream('blips', 'no_stream', someEvents(1, 'Blip'));
      await eventually(() => seen.length === 1, 2_000);
      await subscription.unsubscribe();
    } finally {
      await listener.app.close().then(() => listener.sql.end());
    }
  }, 30_000);
});
