import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent, Subscription } from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

/** The partition PostgreSQL puts a stream in: the first 32 bits of the MD5 of its id, modulo the count. */
function partitionOf(streamId: string, count: number): number {
  return Number.parseInt(createHash('md5').update(streamId).digest('hex').slice(0, 8), 16) % count;
}

describe('subscription groups: competing consumers partitioned by stream', () => {
  const schema = uniqueSchema('groups');
  const members: TestStore[] = [];
  const subscriptions: Subscription[] = [];
  const handled: Array<{ member: number; event: RecordedEvent }> = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) members.push(await createTestStore({ schema, applicationName: `group-member-${i}` }));
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.unsubscribe()));
    for (const m of members.slice(1)) await m.app.close().then(() => m.sql.end());
    await members[0]!.close();
  });

  it('partitions by stream like PostgreSQL does', async () => {
    const [first] = members;
    await first!.store.appendToStream('grp-probe', 'no_stream', someEvents(1, 'Probe'));
    await first!.allVisible();
    const index = partitionOf('grp-probe', 6);
    const hit = await first!.store.readAllForward({ filter: { streamPrefix: 'grp-probe', partition: { count: 6, index } } });
    const miss = await first!.store.readAllForward({
      filter: { streamPrefix: 'grp-probe', partition: { count: 6, index: (index + 1) % 6 } },
    });
    expect(hit.events).toHaveLength(1);
    expect(miss.events).toHaveLength(0);
    await expect(first!.store.readAllForward({ filter: { partition: { count: 6, index: 6 } } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('three members share the partitions; each stream is handled once, in order, by one member; a leaving member is replaced', async () => {
    members.forEach((m, member) =>
      subscriptions.push(
        m.store.subscribeToAll('scoreboard', (event) => void handled.push({ member, event }), {
          group: { partitions: 6 },
          filter: { streamPrefix: 'grp-game-' },
          checkpointEvery: 1,
        }),
      ),
    );
    const appendRound = async (round: number): Promise<void> => {
      for (let i = 0; i < 12; i++) await members[i % 3]!.store.appendToStream(`grp-game-${i}`, 'any', someEvents(5, 'Move', round * 5));
    };
    await appendRound(0);
    await eventually(() => handled.length === 60, 20_000);
    await eventually(
      () => (subscriptions as Array<Subscription & { partitions: number[] }>).every((s) => s.partitions.length === 2),
      20_000,
    );
    const shares = (subscriptions as Array<Subscription & { partitions: number[] }>).map((s) => s.partitions);
    expect(shares.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);

    await subscriptions[0]!.unsubscribe();
    await appendRound(1);
    await eventually(() => handled.length === 120, 20_000);
    await sleep(300);
    expect(handled).toHaveLength(120);

    const byStream = new Map<string, Array<{ member: number; version: number }>>();
    for (const { member, event } of handled) {
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), { member, version: event.streamVersion }]);
    }
    expect(byStream.size).toBe(12);
    for (const deliveries of byStream.values()) {
      expect(deliveries.map((d) => d.version)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(new Set(deliveries.slice(0, 5).map((d) => d.member)).size).toBe(1);
      expect(new Set(deliveries.slice(5).map((d) => d.member)).size).toBe(1);
      expect(deliveries.slice(5).every((d) => d.member !== 0)).toBe(true);
    }
  });
});
