import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { SubscriptionDefinition, SubscriptionsRepository } from '../storage/subscriptions.repository.js';

/** The lease of a persistent subscription was taken by another process. */
export class LeaseLostError extends Error {
  override readonly name: string = 'LeaseLostError';
}

/** The subscription's row was deleted (by another process): it ends here too. */
export class SubscriptionDeletedError extends LeaseLostError {
  override readonly name = 'SubscriptionDeletedError';

  constructor(subscription: string) {
    super(`Subscription ${subscription} was deleted`);
  }
}

/** Lease timing: a dead process's subscription is taken over within `leaseMs + standbyPollMs`. */
export interface LeaseTiming {
  leaseMs: number;
  standbyPollMs: number;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  /**
   * Spread subscriptions over processes: of the live processes that want a free subscription, the
   * one holding the fewest leases takes it, and a holder hands one back when another wants it and
   * holds at least two fewer. Off for group partitions, which their group balances.
   */
  spread: boolean;
  /**
   * Whether this process may hand a lease back now: one at a time per process, so that the leases
   * of a busy process move one by one instead of all at once (and all back).
   */
  mayYield: () => boolean;
  /**
   * `true`: wait for the lease, and after losing it wait to get it back (a subscription of its
   * own). `false`: take it now or not at all, and stop on losing it (a group partition, which its
   * group places).
   */
  standBy: boolean;
}

/**
 * One process's claim on a persistent subscription, and its checkpoint. Only the lease holder
 * delivers; others stand by and take over once the lease lapses (its holder died) or is handed
 * back. The checkpoint is written in batches (every N events or T ms) and only ever names an
 * event that was handled, so a restart repeats at most the last batch and skips nothing.
 */
export class SubscriptionLease {
  private readonly logger: Logger;
  private pending: number | null = null;
  private sinceWrite = 0;
  private lost = false;
  private created = false;
  private renewals = 0;
  private renewTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SubscriptionsRepository,
    readonly name: string,
    private readonly definition: SubscriptionDefinition,
    private readonly owner: string,
    private readonly timing: LeaseTiming,
  ) {
    this.logger = new Logger(`Subscription(${name})`);
  }

  /** Whether the lease was lost since it was acquired. */
  get isLost(): boolean {
    return this.lost;
  }

  /** Whether the run waits for the lease (and waits again after losing it). */
  get standsBy(): boolean {
    return this.timing.standBy;
  }

  /** Whether this process holds the lease now. */
  get isHeld(): boolean {
    return this.renewTimer !== undefined && !this.lost;
  }

  /** Waits until this process holds the lease; returns the checkpoint to resume from. */
  async acquire(signal: AbortSignal, startCursor: () => Promise<number>): Promise<number> {
    // Created once, by the first acquisition. A row gone later was deleted (deleteSubscription
    // in another process): creating it again would deliver everything again from `startFrom`.
    const row = this.created ? await this.store.find(this.name) : await this.store.ensure(this.name, this.definition, startCursor);
    if (row === undefined) throw new SubscriptionDeletedError(this.name);
    this.created = true;
    this.refuseOtherDefinition(row.stream_id, row.filter);
    let announced = false;
    while (!signal.aborted) {
      const outcome = await this.tryAcquire();
      if (typeof outcome === 'number') {
        this.begin();
        return outcome;
      }
      if (outcome === 'gone') {
        throw new SubscriptionDeletedError(this.name);
      }
      if (!this.timing.standBy) {
        throw new LeaseLostError(`Subscription ${this.name} is held by another process`);
      }
      if (!announced) {
        this.logger.log('Another process runs it; standing by to take over');
        announced = true;
      }
      await sleep(this.timing.standbyPollMs, undefined, { signal }).catch(() => undefined);
    }
    return 0;
  }

  /** The lease if it is this process's turn and free: its checkpoint, or why not (one query either way). */
  private async tryAcquire(): Promise<number | 'held' | 'gone'> {
    if (await this.myTurn()) {
      return this.store.acquire(this.name, this.owner, this.timing.leaseMs);
    }
    return (await this.store.find(this.name)) === undefined ? 'gone' : 'held';
  }

  /** Whether this process should try to take the lease now (always, unless spreading says another should). */
  private async myTurn(): Promise<boolean> {
    if (!this.timing.spread) {
      return true;
    }
    const aliveMs = this.timing.leaseMs + this.timing.standbyPollMs;
    await this.store.heartbeat(this.name, this.owner, aliveMs);
    const [first] = await this.store.candidates(this.name, aliveMs);
    return first === undefined || first.member === this.owner;
  }

  /** Whether another live process wants this subscription and holds at least two leases fewer. */
  private async shouldYield(): Promise<boolean> {
    const aliveMs = this.timing.leaseMs + this.timing.standbyPollMs;
    await this.store.heartbeat(this.name, this.owner, aliveMs);
    const candidates = await this.store.candidates(this.name, aliveMs);
    const mine = candidates.find((candidate) => candidate.member === this.owner)?.leases ?? 0;
    return candidates.some((candidate) => candidate.member !== this.owner && candidate.leases + 1 < mine);
  }

  /** Records a handled event's cursor; writes the checkpoint when a batch is full. */
  async handled(cursor: number): Promise<void> {
    if (this.lost) {
      throw new LeaseLostError(`Subscription ${this.name} lost its lease`);
    }
    this.pending = cursor;
    if (++this.sinceWrite >= this.timing.checkpointEvery) {
      await this.flush();
    } else {
      this.flushTimer ??= setTimeout(() => void this.flush().catch(() => undefined), this.timing.checkpointIntervalMs).unref();
    }
  }

  /** Writes the checkpoint (if it moved) and hands the lease back; this process no longer wants it. */
  async release(cursor: number): Promise<void> {
    const held = this.renewTimer !== undefined && !this.lost;
    this.stopTimers();
    await this.writing.catch(() => undefined);
    // Also when not running: a group may have taken the lease for this process just before. The
    // checkpoint is written only by a holder that read it (others keep the stored one).
    await this.store
      .release(this.name, this.owner, held ? cursor : null)
      .catch((error: unknown) => this.logger.warn(`Could not hand back the lease: ${String(error)}`));
    if (this.timing.spread) {
      await this.store.leave(this.name, this.owner).catch(() => undefined);
    }
  }

  private begin(): void {
    this.lost = false;
    this.pending = null;
    this.sinceWrite = 0;
    const every = Math.max(100, Math.floor(this.timing.leaseMs / 3));
    this.renewTimer = setInterval(() => void this.renew(), every).unref();
  }

  /** Writes the pending checkpoint, one write at a time. */
  private flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const write = this.writing.then(() => this.write(this.pending));
    // The chain stays usable after a failed write; the caller still hears of this one.
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async renew(): Promise<void> {
    this.writing = this.writing.then(() => this.write(null)).catch(() => undefined);
    await this.writing;
    // Whether to hand the lease over is a question for every other renewal, not every one: it
    // costs two queries, and the answer changes only as processes come and go.
    if (
      this.timing.spread &&
      !this.lost &&
      ++this.renewals % 2 === 0 &&
      (await this.shouldYield().catch(() => false)) &&
      this.timing.mayYield()
    ) {
      await this.handBack();
    }
  }

  /**
   * Gives the lease to a process with fewer (the run then stands by, as after a lost lease). If
   * the release fails, the lease is treated as lost all the same: delivery stops here, and the
   * lease lapses to the next holder rather than two processes delivering.
   */
  private async handBack(): Promise<void> {
    this.stopTimers();
    this.writing = this.writing
      .then(() => this.store.release(this.name, this.owner, this.pending))
      .catch((error: unknown) => this.logger.warn(`Handing the lease back failed (${String(error)}); letting it lapse`))
      .finally(() => {
        this.lost = true;
      });
    await this.writing;
    this.logger.log('Handed its lease to a process that holds fewer');
  }

  private async write(checkpoint: number | null): Promise<void> {
    if (this.lost) {
      return;
    }
    this.sinceWrite = checkpoint === null ? this.sinceWrite : 0;
    const held = await this.store.renew(this.name, this.owner, this.timing.leaseMs, checkpoint).catch((error: unknown) => {
      this.logger.warn(`Could not renew the lease: ${String(error)}`);
      return true; // unknown: the lease may still be ours; the next renewal tells
    });
    if (!held) {
      this.lost = true;
      this.stopTimers();
    }
  }

  private stopTimers(): void {
    clearInterval(this.renewTimer);
    clearTimeout(this.flushTimer);
    this.renewTimer = undefined;
    this.flushTimer = undefined;
  }

  private refuseOtherDefinition(streamId: string | null, filter: SubscriptionDefinition['filter']): void {
    const stored = JSON.stringify({ streamId, filter });
    const given = JSON.stringify({ streamId: this.definition.streamId, filter: this.definition.filter });
    if (stored !== given) {
      throw new InvalidArgumentError(
        `Subscription '${this.name}' exists with another definition (${stored}): delete it first, or use another name`,
        { name: this.name },
      );
    }
  }
}
