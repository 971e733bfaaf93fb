import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { EventStoreModuleOptions, RecordedEvent, Subscription } from '@game-bot/event-store';
import { EventStoreDatabase } from '@game-bot/event-store/internal';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

/** A text only the shared look for new events (the notifier's poll) runs. */
const LOOK_FOR_EVENTS = 'pg_snapshot_xmin(pg_current_snapshot()) AS xmin';

/** How long a confirmed renewal lets a holder count its lease as its own: the 3 s lease less a tenth. */
const LEASE_VALIDITY_MS = 2_700;

/**
 * Defects of the subscriptions' leases and wake-ups found by review: a first look for new events
 * that woke no filtered subscriber, a stream subscriber woken only once the oldest transaction on
 * the server ended, handler retries going on after the lease was lost, a hand-over that let the
 * next holder start beside the event in hand, and one locked subscription row holding up the
 * renewals of all the others. Several processes are several stores on one schema.
 */
describe('subscriptions: leases and wake-ups after review', () => {
  const schema = uniqueSchema('review-fixes');
  let t: TestStore;
  const cleanups: Array<() => Promise<unknown>> = [];
  /** The server processes of the outside transactions of the running test. */
  const outsidePids: number[] = [];

  /** Another process on the schema of `t`; closed after the test, keeping the schema. */
  async function instance(options: EventStoreModuleOptions = {}, name = 'review-fixes-other'): Promise<TestStore> {
    const other = await createTestStore({ schema, applicationName: name, ...options });
    cleanups.push(() => other.app.close().then(() => other.sql.end()));
    return other;
  }

  /** The subscriptions of the running test: stopped after it, together, before the stores close. */
  const subscriptions: Subscription[] = [];
  const track = (subscription: Subscription): Subscription => (subscriptions.push(subscription), subscription);

  /** A connection of the raw pool with a transaction open; rolled back and released after the test. */
  async function openTransaction(): Promise<pg.PoolClient> {
    const client = await t.sql.connect();
    cleanups.push(async () => {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    });
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    outsidePids.push(rows[0]!.pid);
    await client.query('BEGIN');
    return client;
  }

  beforeAll(async () => {
    t = await createTestStore({ schema, applicationName: 'review-fixes' });
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // No session of this file is left in a transaction on the shared server.
    const { rows } = await t.sql.query<{ pid: number; application_name: string }>(
      `SELECT pid, application_name FROM pg_stat_activity
        WHERE state LIKE 'idle in transaction%' AND (pid = ANY($1::int[]) OR application_name LIKE 'review-fixes%')`,
      [outsidePids.splice(0)],
    );
    expect(rows).toEqual([]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('poll mode: an event another process appends before the first look is delivered without waiting for another append', async () => {
    const polling = await instance({ notifications: 'poll', notificationPollIntervalMs: 200 }, 'review-fixes-poll');
    // The first look is held until the subscriber has read and the event is in: a look slow to
    // get a connection at start-up.
    const { executor } = polling.app.get(EventStoreDatabase);
    const query = executor.query.bind(executor);
    let lookAsked = false;
    let releaseLook!: () => void;
    const lookReleased = new Promise<void>((resolve) => (releaseLook = resolve));
    executor.query = async (statement, execution) => {
      if (!lookAsked && statement.text.includes(LOOK_FOR_EVENTS)) {
        lookAsked = true;
        await lookReleased;
        return query(statement, { ...execution, deadline: executor.deadline(5_000) });
      }
      return query(statement, execution);
    };
    cleanups.push(async () => releaseLook());

    const delivered: string[] = [];
    const subscription = track(
      polling.store.subscribeToAll('first-look', (e) => void delivered.push(e.streamId), { filter: { streamPrefix: 'first-look-' } }),
    );
    await subscription.waitUntilCaughtUp();
    expect(lookAsked).toBe(true);
    expect(delivered).toEqual([]);

    await t.store.appendToStream('first-look-1', 'no_stream', someEvents(1, 'FirstLook'));
    await t.allVisible(); // the first look sees it as written before it
    releaseLook();

    // Nothing else is appended: only the first look can wake the subscriber.
    await eventually(() => delivered.length === 1, 3_000).catch(() => undefined); // the expectation says what came
    expect(delivered).toEqual(['first-look-1']);
  }, 20_000);

  it('handler retries stop once the lease is lost: no call, and no failed delivery recorded, after another process may hold it', async () => {
    const holder = await instance({}, 'review-fixes-retry');
    await t.store.appendToStream('retry-stream', 'no_stream', someEvents(1, 'Retried'));
    const calls: number[] = [];
    track(
      holder.store.subscribeToStream(
        'retry-stream',
        'retry-sub',
        () => {
          calls.push(Date.now());
          throw new Error('receiver down');
        },
        // About 4.5 s of retries in all, most of them after the lease is taken.
        { retry: { maxAttempts: 30, initialDelayMs: 200, maxDelayMs: 200 }, onFailure: 'skip' },
      ),
    );
    await eventually(() => calls.length >= 3, 10_000);

    // Another process takes the lease (as after a lapse): the holder's next renewal finds it gone.
    const takenAt = Date.now();
    const taken = await t.sql.query(
      `UPDATE "${schema}".subscriptions SET owner = 'another-process', lease_until = now() + interval '60 seconds' WHERE name = 'retry-sub'`,
    );
    expect(taken.rowCount).toBe(1);
    await sleep(6_000);

    // Its last confirmed renewal was sent before the take-over, and counts for 2.7 s at most.
    const afterLoss = calls.filter((at) => at > takenAt + LEASE_VALIDITY_MS).map((at) => at - takenAt);
    expect(afterLoss).toEqual([]);
    expect(await t.store.listFailedDeliveries('retry-sub')).toEqual([]);
  }, 30_000);

  it('a hand-over waits for the event in hand: the next holder never starts while the last one is still handling', async () => {
    const HANDLER_MS = 1_500;
    for (let i = 0; i < 40; i++) await t.store.appendToStream(`handover-s-${i}`, 'no_stream', someEvents(1, 'Handed'));
    const names = Array.from({ length: 8 }, (_, i) => `handover-${i}`);
    const running = new Map<string, Set<string>>(names.map((name) => [name, new Set()]));
    const startedBy = new Map<string, Set<string>>(names.map((name) => [name, new Set()]));
    const overlaps: string[] = [];
    const handler = (by: string, name: string) => async (e: RecordedEvent) => {
      const inHand = running.get(name)!;
      if (inHand.size > 0) overlaps.push(`${name}: ${by} starts #${e.globalPosition} while ${[...inHand].join(', ')} runs`);
      const call = `${by}#${e.globalPosition}`;
      inHand.add(call);
      startedBy.get(name)!.add(by);
      await sleep(HANDLER_MS);
      inHand.delete(call);
    };
    const options = { filter: { streamPrefix: 'handover-s-' } };
    const first = await instance({}, 'review-fixes-handover-a');
    const second = await instance({}, 'review-fixes-handover-b');
    for (const name of names) track(first.store.subscribeToAll(name, handler('a', name), options));
    await eventually(() => names.every((name) => startedBy.get(name)!.has('a')), 10_000);

    // A second process wants the same eight: leases are handed over one by one (four hand-overs, every 2 s) until each holds four.
    for (const name of names) track(second.store.subscribeToAll(name, handler('b', name), options));
    await eventually(() => names.filter((name) => startedBy.get(name)!.has('b')).length >= 4, 20_000);
    await sleep(HANDLER_MS); // a start beside the last new holder's first event would show by now

    expect(overlaps).toEqual([]);
  }, 60_000);

  it("one subscription row locked by another transaction does not hold up the renewals of the process's other subscriptions", async () => {
    const holder = await instance({}, 'review-fixes-locked');
    const delivered = new Map<number, number>();
    const times = new Map<number, number>();
    const deliver = (e: RecordedEvent): void => {
      if (!delivered.has(e.streamVersion)) delivered.set(e.streamVersion, Date.now());
      times.set(e.streamVersion, (times.get(e.streamVersion) ?? 0) + 1);
    };
    // No checkpoint written during the test: the lease of `locked-x` lives by the shared renewals
    // alone, and a run that lost it and took it again would start over from the first event.
    const x = track(
      holder.store.subscribeToStream('locked-x-stream', 'locked-x', deliver, { checkpointEvery: 1_000, checkpointIntervalMs: 60_000 }),
    );
    const y = track(holder.store.subscribeToStream('locked-y-stream', 'locked-y', () => undefined));
    await Promise.all([x.waitUntilCaughtUp(), y.waitUntilCaughtUp()]);
    await sleep(1_200); // renewals confirmed for both

    // An outside transaction holds the row of `locked-y` (as a long reset, delete or admin update would).
    const locker = await openTransaction();
    await locker.query(`SELECT 1 FROM "${schema}".subscriptions WHERE name = 'locked-y' FOR UPDATE`);
    const lockedAt = Date.now();
    const appendedAt = new Map<number, number>();
    for (let version = 1; Date.now() - lockedAt < 6_000; version++) {
      await holder.store.appendToStream('locked-x-stream', version - 1, someEvents(1, 'X', version));
      appendedAt.set(version, Date.now());
      await sleep(250);
    }
    await sleep(1_000);
    const releasedAt = Date.now();
    await locker.query('COMMIT');

    // Each event appended while the row was locked was first delivered within a second, before the lock ended.
    const late = [...appendedAt]
      .filter(([version, at]) => !((delivered.get(version) ?? Infinity) < Math.min(releasedAt, at + 1_000)))
      .map(([version, at]) => {
        const after = delivered.has(version) ? `${delivered.get(version)! - at} ms later` : 'not yet';
        return `#${version} appended at +${at - lockedAt} ms, delivered ${after} (lock ended at +${releasedAt - lockedAt} ms)`;
      });
    expect(late).toEqual([]);
    // Never lost meanwhile: each event delivered once.
    expect([...times].filter(([, count]) => count > 1).map(([version, count]) => `#${version} ${count} times`)).toEqual([]);
    expect(appendedAt.size).toBeGreaterThan(15);
  }, 30_000);

  it('poll mode: a stream subscriber sees an event committed late without waiting for the oldest open transaction on the server', async () => {
    await t.store.appendToStream('open-tx-s', 'no_stream', someEvents(1, 'S'));
    const polling = await instance({ notifications: 'poll', notificationPollIntervalMs: 200 }, 'review-fixes-stream-poll');
    const delivered: number[] = [];
    const subscription = track(polling.store.subscribe('open-tx-s', (e) => void delivered.push(e.streamVersion)));
    await subscription.waitUntilCaughtUp();
    expect(delivered).toEqual([1]);

    // An unrelated transaction with an id holds back the horizon of `$all` (a report, a batch job).
    const unrelated = await openTransaction();
    await unrelated.query('SELECT pg_current_xact_id()');
    // An append to the stream takes its position, then commits only after a later append did.
    const slow = await openTransaction();
    const event = {
      event_id: randomUUID(),
      event_type: 'S',
      schema_version: 1,
      data: { n: 2 },
      metadata: {},
      causation_id: null,
      correlation_id: null,
    };
    await slow.query(`SELECT * FROM "${schema}".append_to_stream($1, $2, $3)`, ['open-tx-s', 1, JSON.stringify([event])]);
    await t.store.appendToStream('open-tx-other', 'no_stream', someEvents(1, 'Other'));
    await sleep(800); // looks see the first append in progress and the later one committed
    await slow.query('COMMIT');

    await eventually(() => delivered.length === 2, 3_000).catch(() => undefined); // the expectation says what came
    expect(delivered).toEqual([1, 2]);
  }, 20_000);
});
