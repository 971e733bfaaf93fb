import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventReader } from '../storage/event-reader.js';
import { EventStoreObservers } from '../storage/event-store-observers.js';
import { FailedDeliveriesRepository } from '../storage/failed-deliveries.repository.js';
import type { FailedDelivery } from '../types/failed-delivery.js';
import { SubscriptionsRepository } from '../storage/subscriptions.repository.js';
import type { SubscriptionStatusRow } from '../storage/sql/subscription-status.sql.js';
import type { AllFilter } from '../types/read-options.js';
import type { SubscriptionStatus } from '../types/subscription-status.js';
import { assertName, assertStreamId } from '../validation/stream-id.validation.js';
import { EventNotifier } from './event-notifier.js';
import { AllEventSource, StreamEventSource } from './event-sources.js';
import { GroupSubscription, partitionName } from './group-subscription.js';
import { LeaseKeeper } from './lease-keeper.js';
import { SubscriptionLease } from './subscription-lease.js';
import type { EventHandler, Subscription, SubscriptionOptions } from './subscription-options.js';
import type { RetryReport } from '../types/retry-report.js';
import { SubscriptionRunner } from './subscription-runner.js';

/**
 * The store's subscriptions in this process: checks and starts them, retries their failed
 * deliveries, and stops them all when the application shuts down (before the database closes).
 */
@Injectable()
export class SubscriptionManager implements OnModuleDestroy {
  private readonly active = new Set<SubscriptionRunner>();
  private readonly groups = new Set<GroupSubscription>();
  /** Who holds leases for this process: host, pid and a random tag (pids repeat across hosts). */
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private lastYield = 0;
  /** Renews and takes this process's leases in batches. */
  private readonly keeper: LeaseKeeper;

  constructor(
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(EventNotifier) private readonly notifier: EventNotifier,
    @Inject(EventReader) private readonly reads: EventReader,
    @Inject(SubscriptionsRepository) private readonly store: SubscriptionsRepository,
    @Inject(FailedDeliveriesRepository) private readonly failures: FailedDeliveriesRepository,
    @Inject(EventStoreObservers) private readonly observers: EventStoreObservers,
  ) {
    this.keeper = new LeaseKeeper(store, { leaseMs: LEASE_MS, tickMs: STANDBY_POLL_MS, mayYield: () => this.mayYield() });
  }

  /** See {@link EventStore.subscribe}. */
  subscribe(streamId: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable(streamId, options);
    return this.launch(undefined, this.source(streamId, options.filter), handler, options);
  }

  /**
   * See {@link EventStore.subscribeToStream}. One subscription of a name runs in a process at a
   * time: all of this process's runners share one lease owner, so a second one would deliver
   * alongside the first instead of standing by. A name already running here is refused with an
   * `InvalidArgumentError`; it is free again once that subscription has stopped (`unsubscribe`
   * awaited, halted at a failing event, or `deleteSubscription`). Other processes stand by.
   */
  subscribeToStream(streamId: string, name: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable(streamId, options);
    if (streamId === '$all') {
      throw new InvalidArgumentError("Use subscribeToAll(name, handler) for '$all'");
    }
    if (options.group !== undefined) {
      throw new InvalidArgumentError('Groups share $all by stream: use subscribeToAll(name, handler, { group })');
    }
    return this.subscribePersistent(name, streamId, handler, options);
  }

  /**
   * See {@link EventStore.subscribeToAll}. One subscription of a name per process, as for
   * {@link subscribeToStream}; the members of a group (`options.group`) are the exception: each
   * has a member id of its own, so a process may run several members of one group. A name runs
   * here either as a plain subscription or as a group, never both.
   */
  subscribeToAll(name: string, handler: EventHandler, options: SubscriptionOptions = {}): Subscription {
    this.assertSubscribable('$all', options);
    return this.subscribePersistent(name, '$all', handler, options);
  }

  private assertSubscribable(streamId: string, options: SubscriptionOptions): void {
    if (streamId !== '$all') {
      assertStreamId(streamId);
    }
    this.reads.assertFilter(options.filter);
  }

  /** A persistent subscription: its checkpoint and lease live in PostgreSQL under `name`. */
  private subscribePersistent(name: string, streamId: string, handler: EventHandler, options: SubscriptionOptions): Subscription {
    assertName(name, 'name');
    this.assertFree(name, options.group !== undefined);
    if (options.group !== undefined) {
      return this.joinGroup(name, handler, options);
    }
    const lease = this.lease(name, streamId, options, this.owner, true);
    return this.launch(name, this.source(streamId, options.filter), handler, options, lease);
  }

  /**
   * Refuses a name that runs in this process already (a group may take more members). A runner
   * leaves `active` once its `stopped` settles, a handler registered before the caller gets it:
   * the name is free again as soon as the subscription has stopped.
   */
  private assertFree(name: string, joiningGroup: boolean): void {
    const runsAsGroup = [...this.groups].some((group) => group.name === name);
    const runsPlain = [...this.active].some((runner) => runner.name === name);
    if (!runsPlain && (!runsAsGroup || joiningGroup)) {
      return;
    }
    const advice = runsPlain
      ? 'unsubscribe it (and await that) before subscribing to it again; to give its events to several handlers, call them from one'
      : 'it runs as a group: unsubscribe its members first, or join the group with the same { group } option';
    throw new InvalidArgumentError(`Subscription '${name}' already runs in this process: ${advice}`, { name });
  }

  /** A member of the group `name`: runs its share of the group's partitions (see {@link GroupSubscription}). */
  private joinGroup(name: string, handler: EventHandler, options: SubscriptionOptions): Subscription {
    const partitions = positive(options.group!.partitions, 'group.partitions');
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('A subscription needs a handler function');
    }
    validateOptions(options, this.options.maxPageSize);
    const member = `${this.owner}:${randomBytes(3).toString('hex')}`;
    const filterOf = (index: number): AllFilter => ({ ...options.filter, partition: { count: partitions, index } });
    const group = new GroupSubscription(this.store, {
      name,
      partitions,
      member,
      leaseMs: LEASE_MS,
      balanceEveryMs: 1_000,
      ensurePartition: async (index) => {
        const partition = partitionName(name, index);
        await this.store.ensure(partition, definition('$all', filterOf(index)), () => this.startCursor(options));
      },
      runPartition: (index) => {
        const partition = partitionName(name, index);
        const lease = this.lease(partition, '$all', { ...options, filter: filterOf(index) }, member, false);
        return this.launch(partition, this.source('$all', filterOf(index)), handler, options, lease);
      },
    });
    this.groups.add(group);
    void group.stopped.finally(() => this.groups.delete(group)).catch(() => undefined);
    return group;
  }

  private lease(name: string, streamId: string, options: SubscriptionOptions, owner: string, spread: boolean): SubscriptionLease {
    const timing = {
      spread,
      leaseMs: LEASE_MS,
      checkpointEvery: positive(options.checkpointEvery ?? 100, 'checkpointEvery'),
      checkpointIntervalMs: positive(options.checkpointIntervalMs ?? 1_000, 'checkpointIntervalMs'),
      standBy: spread,
    };
    return new SubscriptionLease(this.store, name, definition(streamId, options.filter), owner, timing, this.keeper);
  }

  /** One lease handed back per process every two seconds at most (see `LeaseTiming.mayYield`). */
  private mayYield(): boolean {
    if (Date.now() - this.lastYield < 2_000) {
      return false;
    }
    this.lastYield = Date.now();
    return true;
  }

  /** Where a new group partition starts: as `startFrom` says. */
  private async startCursor(options: SubscriptionOptions): Promise<number> {
    const startFrom = options.startFrom ?? 'origin';
    if (startFrom === 'origin') return 0;
    if (startFrom === 'end') return this.reads.endOf('$all');
    return startFrom;
  }

  /**
   * Retries the due failed deliveries of every persistent subscription this process runs, the
   * subscriptions side by side: one whose handler is slow to fail (a webhook that times out) makes
   * the run as long as itself, not as long as all of them together. At most half the pool's
   * connections' worth run at once, so that retries never crowd out the store's other work. The
   * first error, if any, is thrown once every subscription has had its turn.
   */
  async retryFailedDeliveries(): Promise<RetryReport> {
    const total: RetryReport = { retried: 0, succeeded: 0, deadLettered: 0 };
    const lanes = Math.max(1, Math.floor(this.options.poolSize / 2));
    const outcomes = await settleLimited([...this.active], lanes, (runner) =>
      runner.retryDue((eventId, viaStream) => this.reads.readEvent(eventId, viaStream)),
    );
    let failure: { reason: unknown } | undefined;
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        failure ??= { reason: outcome.reason };
        continue;
      }
      total.retried += outcome.value.retried;
      total.succeeded += outcome.value.succeeded;
      total.deadLettered += outcome.value.deadLettered;
    }
    if (failure !== undefined) throw failure.reason;
    return total;
  }

  /** The failed (or dead-lettered) deliveries of a persistent subscription. */
  async listFailedDeliveries(name: string, status: 'failed' | 'dead' | null): Promise<FailedDelivery[]> {
    assertName(name, 'name');
    return this.failures.list(name, status);
  }

  /** Makes failed (or dead-lettered, or all) deliveries due again now; returns how many. */
  async replayFailedDeliveries(name: string, status: 'failed' | 'dead' | null): Promise<number> {
    assertName(name, 'name');
    return this.failures.replay(name, status);
  }

  /** See {@link EventStore.listSubscriptions}. */
  async list(name?: string): Promise<SubscriptionStatus[]> {
    if (name !== undefined) assertName(name, 'name');
    const rows = await this.store.statuses(name ?? null);
    const statuses: SubscriptionStatus[] = [];
    // One at a time: a count may scan up to LAG_CAP events, and a long list must not take the pool.
    for (const row of rows) {
      const checkpoint = Number(row.checkpoint);
      const lag =
        row.stream_id === null
          ? await this.store.countAfter(checkpoint, row.filter as AllFilter, LAG_CAP)
          : Math.max(0, Number(row.stream_version ?? 0) - checkpoint);
      statuses.push(statusOf(row, Number((row.stream_id === null ? row.all_head : row.stream_version) ?? 0), lag));
    }
    return statuses;
  }

  /** Moves the checkpoint of a persistent subscription (see {@link EventStore.resetSubscription}). */
  async resetSubscription(name: string, checkpoint: number, whileRunning: boolean): Promise<void> {
    assertName(name, 'name');
    if (!Number.isSafeInteger(checkpoint) || checkpoint < 0) {
      throw new InvalidArgumentError(`checkpoint must be an integer >= 0, got ${String(checkpoint)}`);
    }
    if (await this.failures.reset(name, checkpoint, whileRunning)) {
      return;
    }
    const why = whileRunning
      ? 'does not exist'
      : 'does not exist, or a process runs it: unsubscribe it everywhere, or pass { whileRunning: true }';
    throw new InvalidArgumentError(`Subscription '${name}' ${why}`, { name });
  }

  /** Stops a subscription of this process. */
  async unsubscribe(subscription: Subscription): Promise<void> {
    await subscription.unsubscribe();
  }

  /** Stops the persistent subscription (or group) if it runs here, and deletes its rows. */
  async delete(name: string): Promise<void> {
    assertName(name, 'name');
    const running = [...this.groups, ...this.active].filter((subscription) => subscription.name === name);
    await Promise.all(running.map((subscription) => subscription.unsubscribe()));
    await this.store.delete(name);
  }

  /** Stops every subscription and group (checkpoints written, leases handed back) and the notifier. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all([...this.groups].map((group) => group.unsubscribe()));
    await Promise.all([...this.active].map((subscription) => subscription.unsubscribe()));
    this.keeper.close();
    await this.notifier.close();
  }

  private launch(
    name: string | undefined,
    source: AllEventSource | StreamEventSource,
    handler: EventHandler,
    options: SubscriptionOptions,
    lease?: SubscriptionLease,
  ): Subscription {
    if (typeof handler !== 'function') {
      throw new InvalidArgumentError('A subscription needs a handler function');
    }
    validateOptions(options, this.options.maxPageSize);
    void this.notifier.start();
    const runner = new SubscriptionRunner(name, source, this.notifier, handler, options, lease, lease && this.failures, this.observers);
    this.active.add(runner);
    void runner.stopped.finally(() => this.active.delete(runner)).catch(() => undefined);
    return runner;
  }

  private source(streamId: string, filter: AllFilter | undefined): AllEventSource | StreamEventSource {
    if (streamId === '$all') {
      return new AllEventSource(this.reads, filter);
    }
    if (filter?.streamPrefix !== undefined) {
      throw new InvalidArgumentError('filter.streamPrefix applies to $all subscriptions only', { streamId });
    }
    return new StreamEventSource(this.reads, streamId, filter?.eventTypes);
  }
}

/** Runs `work` on every item, at most `limit` at a time; settles like `Promise.allSettled`. */
async function settleLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const results: Array<PromiseSettledResult<R>> = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** How long a lease lasts without renewal: a dead process's subscription is taken over after it. */
const LEASE_MS = 3_000;

/** Events counted at most for a subscription's lag (as for a projection's). */
const LAG_CAP = 1_000_000;

/** How often runs standing by try for their lease (renewals come every other time). */
const STANDBY_POLL_MS = 500;

function definition(streamId: string, filter: AllFilter | undefined) {
  // Keys in the order jsonb keeps them (shorter first), so a stored definition compares equal.
  const canonical: AllFilter = {};
  if (filter?.tags !== undefined) canonical.tags = filter.tags;
  if (filter?.partition !== undefined) canonical.partition = { count: filter.partition.count, index: filter.partition.index };
  if (filter?.eventTypes !== undefined) canonical.eventTypes = filter.eventTypes;
  if (filter?.streamPrefix !== undefined) canonical.streamPrefix = filter.streamPrefix;
  return { streamId: streamId === '$all' ? null : streamId, filter: canonical };
}

function statusOf(row: SubscriptionStatusRow, head: number, lag: number): SubscriptionStatus {
  const filter = row.filter as AllFilter;
  const partition = filter.partition;
  return {
    name: row.name,
    streamId: row.stream_id ?? '$all',
    filter,
    group:
      partition === undefined
        ? null
        : { name: row.name.slice(0, row.name.lastIndexOf(':')), partition: partition.index, partitions: partition.count },
    checkpoint: Number(row.checkpoint),
    head,
    lag,
    owner: row.lease_valid ? row.owner : null,
    leaseUntil: row.lease_until,
    failed: row.failed,
    dead: row.dead,
    updatedAt: row.updated_at,
  };
}

function validateOptions(options: SubscriptionOptions, maxPageSize: number): void {
  const { startFrom, batchSize, pollIntervalMs, onFailure } = options;
  if (onFailure !== undefined && onFailure !== 'halt' && onFailure !== 'skip') {
    throw new InvalidArgumentError(`onFailure must be 'halt' or 'skip', got ${String(onFailure)}`);
  }
  if (startFrom !== undefined && startFrom !== 'origin' && startFrom !== 'end' && !(Number.isSafeInteger(startFrom) && startFrom >= 0)) {
    throw new InvalidArgumentError(`startFrom must be 'origin', 'end' or a position >= 0, got ${String(startFrom)}`);
  }
  if (batchSize !== undefined && positive(batchSize, 'batchSize') > maxPageSize) {
    throw new InvalidArgumentError(`batchSize must be at most ${maxPageSize}`);
  }
  if (pollIntervalMs !== undefined) positive(pollIntervalMs, 'pollIntervalMs');
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
