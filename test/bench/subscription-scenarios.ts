import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { EventStore } from '@game-bot/event-store';
import { benchEvents } from './scenarios.js';

/** Append-to-handler latency of a subscriber in another store instance, under a steady append rate. */
export interface LatencyResult {
  ratePerSecond: number;
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Catch-up over a stored backlog, beside a raw SELECT of the same rows. */
export interface CatchUpResult {
  events: number;
  storeEventsPerSecond: number;
  rawEventsPerSecond: number;
}

/** Heap growth while a slow subscriber faces a backlog, for two backlog sizes. */
export interface MemoryResult {
  backlogs: Array<{ events: number; heapGrowthMb: number; handled: number }>;
}

/**
 * Appends single events at `rate` per second for `seconds` (from 10 concurrent writers) while a
 * subscriber of `peer` (another store instance: woken by NOTIFY, not in-process) handles them.
 */
export async function measureLatency(store: EventStore, peer: EventStore, rate: number, seconds: number): Promise<LatencyResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const subscription = peer.subscribe(
    '$all',
    (event) => {
      const started = sentAt.get(event.eventId);
      if (started !== undefined) latencies.push(performance.now() - started);
    },
    { filter: { streamPrefix: 'latency-' }, startFrom: 'end' },
  );
  await subscription.waitUntilCaughtUp();
  const total = rate * seconds;
  const writers = 10;
  const interval = (1000 * writers) / rate;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const begin = performance.now();
      for (let i = w; i < total; i += writers) {
        const due = begin + (i / writers) * interval;
        await sleep(Math.max(0, due - performance.now()));
        const eventId = randomUUID();
        sentAt.set(eventId, performance.now());
        await store.appendToStream(`latency-${w}`, 'any', [{ eventId, ...benchEvents(1, w, i)[0]! }]);
      }
    }),
  );
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) await sleep(10);
  await subscription.unsubscribe();
  return { ratePerSecond: rate, events: latencies.length, ...percentiles(latencies) };
}

/** Stores `count` events (100 per append, 4 writers) in streams starting with `prefix`. */
export async function seedBacklog(store: EventStore, prefix: string, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: 4 }, async (_, w) => {
      for (let written = w * 100; written < count; written += 400) {
        await store.appendToStream(`${prefix}-${w}`, 'any', benchEvents(Math.min(100, count - written), w, written));
      }
    }),
  );
}

/**
 * A subscription to `$all` through the `count` events stored after `after` (no filter), beside raw
 * paging of the same rows by position.
 */
export async function measureCatchUp(
  store: EventStore,
  raw: pg.Pool,
  schema: string,
  after: number,
  count: number,
): Promise<CatchUpResult> {
  let seen = 0;
  const started = performance.now();
  const subscription = store.subscribe('$all', () => void seen++, { startFrom: after, batchSize: 1000 });
  await subscription.waitUntilCaughtUp();
  const storeSeconds = (performance.now() - started) / 1000;
  await subscription.unsubscribe();
  const rawStarted = performance.now();
  const rawCount = await rawPaging(raw, schema, after);
  const rawSeconds = (performance.now() - rawStarted) / 1000;
  return { events: Math.min(seen, count), storeEventsPerSecond: seen / storeSeconds, rawEventsPerSecond: rawCount / rawSeconds };
}

/** Heap growth while a subscriber that takes 1 ms per event works through each backlog for `seconds`. */
export async function measureMemory(
  store: EventStore,
  backlogs: Array<{ prefix: string; events: number }>,
  seconds: number,
): Promise<MemoryResult> {
  const results: MemoryResult['backlogs'] = [];
  for (const { prefix, events } of backlogs) {
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    let handled = 0;
    let peak = before;
    const subscription = store.subscribe(
      '$all',
      async () => {
        handled++;
        await sleep(1);
      },
      { filter: { streamPrefix: `${prefix}-` }, batchSize: 100 },
    );
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      await sleep(100);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    await subscription.unsubscribe();
    results.push({ events, heapGrowthMb: (peak - before) / 1024 / 1024, handled });
  }
  return { backlogs: results };
}

/** Pages through the same rows with plain SQL (JSON parsed by node-postgres); returns how many. */
async function rawPaging(raw: pg.Pool, schema: string, after: number): Promise<number> {
  let cursor = after;
  let count = 0;
  for (;;) {
    const { rows } = await raw.query<{ global_position: string }>({
      name: 'raw_catch_up',
      text: `SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version, data, metadata, created_at
               FROM "${schema}".events WHERE global_position > $1 ORDER BY global_position LIMIT 1000`,
      values: [cursor],
    });
    if (rows.length === 0) return count;
    count += rows.length;
    cursor = Number(rows.at(-1)!.global_position);
  }
}

function percentiles(values: number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? Number.NaN };
}

/** The median append alone, and beside many idle persistent subscriptions in the same process. */
export interface IdleSubscriptionsResult {
  subscriptions: number;
  beforeMs: number;
  withMs: number;
  afterMs: number;
}

/**
 * The median of single-event appends (one writer, a stream no subscription reads) for `seconds`
 * before, with and after `count` idle persistent subscriptions in the appending process (half on
 * streams of their own, half on `$all` under a prefix nothing is written to: a service's webhooks).
 */
export async function measureIdleSubscriptions(store: EventStore, count: number, seconds: number): Promise<IdleSubscriptionsResult> {
  const stream = `idle-load-${randomUUID()}`;
  let version = 0;
  const median = async (): Promise<number> => {
    const times: number[] = [];
    const until = performance.now() + seconds * 1_000;
    while (performance.now() < until) {
      const started = performance.now();
      await store.appendToStream(stream, version === 0 ? 'no_stream' : version, benchEvents(1, 0, version));
      times.push(performance.now() - started);
      version++;
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  };
  await median(); // warm-up
  const beforeMs = await median();
  const tag = randomUUID().slice(0, 8);
  const subscriptions = Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? store.subscribeToStream(`idle-${tag}-${i}`, `idle-${tag}-stream-${i}`, () => undefined)
      : // From the end: caught up at once, not scanning the benchmark's earlier events for nothing.
        store.subscribeToAll(`idle-${tag}-all-${i}`, () => undefined, { filter: { streamPrefix: `idle-${tag}-${i}-` }, startFrom: 'end' }),
  );
  await Promise.all(subscriptions.map((subscription) => subscription.waitUntilCaughtUp()));
  await sleep(3_500); // leases renewed, membership recorded
  const withMs = await median();
  await Promise.all(subscriptions.map((subscription) => subscription.unsubscribe()));
  await Promise.all(
    Array.from({ length: count }, (_, i) => store.deleteSubscription(i % 2 === 0 ? `idle-${tag}-stream-${i}` : `idle-${tag}-all-${i}`)),
  );
  const afterMs = await median();
  return { subscriptions: count, beforeMs, withMs, afterMs };
}
