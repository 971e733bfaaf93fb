import { eventually } from '../../../test/helpers/eventually.js';
import type { Subscription } from '@game-bot/event-store';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

const NAMES = ['leaderboard', 'achievements', 'notifier', 'stats', 'anticheat', 'archive'];

/** Several processes subscribing to the same subscriptions share them instead of the first taking all. */
describe('persistent subscriptions spread over processes', () => {
  const schema = uniqueSchema('spread');
  const nodes: TestStore[] = [];
  const subscriptions: Subscription[] = [];
  const handled = new Map<string, string[]>();

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) nodes.push(await createTestStore({ schema, applicationName: `spread-node-${i}` }));
  });
  afterAll(async () => {
    await Promise.all(subscriptions.map((s) => s.unsubscribe()));
    await nodes[1]!.app.close().then(() => nodes[1]!.sql.end());
    await nodes[0]!.close();
  });

  const subscribeAll = (node: TestStore): void => {
    for (const name of NAMES) {
      subscriptions.push(
        node.store.subscribeToAll(name, (event) => void handled.set(name, [...(handled.get(name) ?? []), event.eventId]), {
          filter: { streamPrefix: 'spread-' },
        }),
      );
    }
  };
  const leasesByOwner = async (): Promise<number[]> => {
    const { rows } = await nodes[0]!.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${schema}".subscriptions WHERE owner IS NOT NULL AND lease_until > now() GROUP BY owner ORDER BY n`,
    );
    return rows.map((row) => row.n);
  };

  it('a second process that joins late gets half of the subscriptions, one handed over at a time, and nothing is lost', async () => {
    await nodes[0]!.store.appendToStream('spread-1', 'no_stream', someEvents(5, 'Spread'));
    subscribeAll(nodes[0]!);
    await eventually(async () => (await leasesByOwner()).join() === '6', 10_000);
    subscribeAll(nodes[1]!);
    await eventually(async () => (await leasesByOwner()).join() === '3,3', 20_000);
    await nodes[1]!.store.appendToStream('spread-1', 5, someEvents(5, 'Spread', 5));
    await eventually(() => NAMES.every((name) => new Set(handled.get(name)).size === 10), 10_000);
    expect(await leasesByOwner()).toEqual([3, 3]);
  }, 60_000);
});
