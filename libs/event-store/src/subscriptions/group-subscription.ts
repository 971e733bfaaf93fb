import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from './subscription-options.js';
import type { SubscriptionsRepository } from '../storage/subscriptions.repository.js';

/** How a member runs one partition, and how its group is balanced. */
export interface GroupSettings {
  name: string;
  partitions: number;
  member: string;
  leaseMs: number;
  /** How often members meet (heartbeat, rebalance). */
  balanceEveryMs: number;
  /** Creates the partition's persistent subscription row if it does not exist yet. */
  ensurePartition(index: number): Promise<void>;
  /** Starts this member's runner of a partition whose lease it holds. */
  runPartition(index: number): Subscription;
}

/** A partition's handler kept failing: its member leaves the group with that error. */
class PartitionHalted extends Error {
  constructor(override readonly cause: unknown) {
    super('partition halted');
  }
}

/** The name of a group's partition `index`, a persistent subscription of its own. */
export function partitionName(group: string, index: number): string {
  return `${group}:${index}`;
}

/**
 * One member of a subscription group: competing consumers of one named subscription to `$all`,
 * split into partitions by stream, so that each stream is handled by one member at a time, in
 * order. Each partition is a persistent subscription (own checkpoint and lease). Members meet
 * through heartbeats: each takes partitions up to its fair share (partitions ÷ live members,
 * rounded up) and hands back any above it, so that the group rebalances when members join or
 * leave, and a dead member's partitions are taken over once their leases lapse.
 */
export class GroupSubscription implements Subscription {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly running = new Map<number, Subscription>();
  private balanced = false;
  readonly stopped: Promise<void>;
  readonly streamId = '$all';

  constructor(
    private readonly store: SubscriptionsRepository,
    private readonly settings: GroupSettings,
  ) {
    this.logger = new Logger(`SubscriptionGroup(${settings.name})`);
    this.stopped = this.run();
    this.stopped.catch(() => undefined);
  }

  get name(): string {
    return this.settings.name;
  }

  /** The partitions this member runs now. */
  get partitions(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }

  /** The lowest position its partitions have handled (0 before any). */
  get position(): number {
    const positions = [...this.running.values()].map((partition) => partition.position);
    return positions.length === 0 ? 0 : Math.min(...positions);
  }

  get caughtUp(): boolean {
    return this.balanced && [...this.running.values()].every((partition) => partition.caughtUp);
  }

  async waitUntilCaughtUp(): Promise<void> {
    while (!this.caughtUp && !this.abort.signal.aborted) {
      await sleep(20);
    }
  }

  async unsubscribe(): Promise<void> {
    this.abort.abort();
    await this.stopped.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    try {
      while (!signal.aborted) {
        // A database outage pauses the balancing; a halted partition (rethrown) ends the member.
        await this.balance().catch((error: unknown) => {
          if (error instanceof PartitionHalted) throw error.cause;
          this.logger.warn(`Balancing failed (${String(error)}); trying again`);
        });
        await sleep(this.settings.balanceEveryMs, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await Promise.all([...this.running.values()].map((partition) => partition.unsubscribe()));
      this.running.clear();
      await this.store.leave(this.settings.name, this.settings.member).catch(() => undefined);
    }
  }

  /** One meeting: heartbeat, then take or hand back partitions towards the fair share. */
  private async balance(): Promise<void> {
    const { name, partitions, member, leaseMs } = this.settings;
    const members = await this.store.heartbeat(name, member, leaseMs + this.settings.balanceEveryMs);
    const fair = Math.ceil(partitions / members);
    await this.dropStopped();
    for (const index of [...this.running.keys()].sort((a, b) => b - a).slice(0, Math.max(0, this.running.size - fair))) {
      await this.running.get(index)!.unsubscribe();
      this.running.delete(index);
    }
    for (let index = 0; index < partitions && this.running.size < fair; index++) {
      if (!this.running.has(index)) {
        await this.tryTake(index);
      }
    }
    this.balanced = this.running.size === Math.min(fair, partitions);
  }

  private async tryTake(index: number): Promise<void> {
    const { name, member, leaseMs } = this.settings;
    await this.settings.ensurePartition(index);
    if (typeof (await this.store.acquire(partitionName(name, index), member, leaseMs)) === 'number') {
      this.running.set(index, this.settings.runPartition(index));
    }
  }

  /** A partition whose handler halted stops the whole member: it would otherwise hold its lease idle. */
  private async dropStopped(): Promise<void> {
    for (const [index, partition] of this.running) {
      const halted = await Promise.race([
        partition.stopped.then(
          () => false,
          () => true,
        ),
        sleep(0).then(() => undefined),
      ]);
      if (halted === true) {
        this.logger.error(`Partition ${index} halted; the member leaves the group`);
        await partition.stopped.catch((error: unknown) => {
          throw new PartitionHalted(error);
        });
      }
      if (halted === false) {
        this.running.delete(index);
      }
    }
  }
}
