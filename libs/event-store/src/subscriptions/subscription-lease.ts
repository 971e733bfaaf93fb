import { Logger } from '@nestjs/common';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { SubscriptionDefinition, SubscriptionsRepository } from '../storage/subscriptions.repository.js';
import type { KeptLease, LeaseKeeper } from './lease-keeper.js';
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Lease timing: a dead process's subscription is taken over within about `leaseMs` and a standby tick. */
export interface LeaseTiming {
  leaseMs: number;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  /**
   * Spread subscriptions over processes: of the live processes that want a free subscription, the
   * one holding the fewest leases takes it, and a holder hands one back when another wants it and
   * holds at least two fewer. Off for group partitions, which their group balances.
   */
  spread: boolean;
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
 *
 * The holder counts the lease as its own only until the last confirmation it got, measured from
 * when that statement was sent, plus the lease time less a margin: a renewal that does not answer
 * (a stalled server, a lost connection) stops delivery before any other process can take the
 * lease, rather than being taken for a renewal that worked. The process's {@link LeaseKeeper}
 * renews all its leases together.
 */
export class SubscriptionLease implements KeptLease {
  private readonly logger: Logger;
  private pending: number | null = null;
  private sinceWrite = 0;
  private lost = false;
  private held = false;
  /** Until when (a `performance.now()` time) the lease is certainly this process's. */
  private heldUntil = 0;
  private created = false;
  /**
   * Whether the last acquisition found the lease this process's already (it had lapsed, or was
   * confirmed too late, and nobody took it meanwhile): the run may go on from where it was.
   */
  private resumable = false;
  /** A hand-over waits for the event in hand: its cursor still counts for the checkpoint. */
  private handingOver = false;
  /** Settles once the run's handler call in progress (if any) has ended. */
  private drained: () => Promise<unknown> = () => Promise.resolve();
  /** Aborted when the lease is lost, to wake a run waiting for events. */
  private losing = new AbortController();
  private flushTimer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SubscriptionsRepository,
    readonly name: string,
    private readonly definition: SubscriptionDefinition,
    readonly owner: string,
    private readonly timing: LeaseTiming,
    private readonly keeper: LeaseKeeper,
  ) {
    this.logger = new Logger(`Subscription(${name})`);
  }

  /**
   * Whether the lease was lost since it was acquired: taken away, handed back, or no longer
   * confirmed in time (then delivery stops until the lease is confirmed again).
   */
  get isLost(): boolean {
    if (!this.lost && this.held && performance.now() > this.heldUntil) {
      this.logger.warn('Its lease was not confirmed in time (the database is slow or unreachable); stopped delivering');
      this.lose();
    }
    return this.lost;
  }

  /** Aborts once the lease held now is lost (a run waiting for events then stops waiting). */
  get lostSignal(): AbortSignal {
    return this.losing.signal;
  }

  /**
   * Where a run that was at `cursor` goes on after {@link acquire} returned `checkpoint`: from its
   * own cursor if the lease never left this process (nothing after it was delivered elsewhere, and
   * no reset moved it: a reset clears the owner), else from the stored checkpoint.
   */
  resumeFrom(checkpoint: number, cursor: number): number {
    return this.resumable ? Math.max(checkpoint, cursor) : checkpoint;
  }

  /** Whether the run waits for the lease (and waits again after losing it). */
  get standsBy(): boolean {
    return this.timing.standBy;
  }

  /** Whether this process holds the lease now. */
  get isHeld(): boolean {
    return this.held && !this.isLost;
  }

  /** Whether the lease prefers the process holding the fewest (see `LeaseTiming.spread`). */
  get spreads(): boolean {
    return this.timing.spread;
  }

  /** Tells the lease how to wait for the run's handler call in progress (before handing the lease over). */
  attach(drained: () => Promise<unknown>): void {
    this.drained = drained;
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
    // Taken in the keeper's batch, with every other run of the process starting (or standing by)
    // now: a thousand subscriptions starting together cost a statement, not a thousand.
    let { outcome, sentAt, wasMine } = await this.keeper.waitForTurn(this, signal);
    while (!signal.aborted) {
      if (typeof outcome === 'number') {
        this.begin(sentAt);
        this.resumable = wasMine === true;
        return outcome;
      }
      if (outcome === 'gone') {
        throw new SubscriptionDeletedError(this.name);
      }
      if (outcome === 'closed' || this.keeper.isClosed) {
        throw new LeaseLostError(`Subscription ${this.name} stopped: the store is shutting down`);
      }
      if (!this.timing.standBy) {
        throw new LeaseLostError(`Subscription ${this.name} is held by another process`);
      }
      if (!announced) {
        this.logger.log('Another process runs it; standing by to take over');
        announced = true;
      }
      ({ outcome, sentAt, wasMine } = await this.keeper.waitForTurn(this, signal));
    }
    return 0;
  }

  /** Records a handled event's cursor; writes the checkpoint when a batch is full. */
  async handled(cursor: number): Promise<void> {
    if (this.handingOver) {
      this.pending = cursor; // the event in hand, done: the hand-over's checkpoint names it
    }
    if (this.isLost) {
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
    const held = this.held && !this.lost;
    this.stop();
    await this.writing.catch(() => undefined);
    // Also when not running: a group may have taken the lease for this process just before. The
    // checkpoint is written only by a holder that read it (others keep the stored one), and only
    // while the row is still its own.
    await this.store
      .release(this.name, this.owner, held ? cursor : null)
      .catch((error: unknown) => this.logger.warn(`Could not hand back the lease: ${String(error)}`));
    if (this.timing.spread) {
      await this.store.leave(this.name, this.owner).catch(() => undefined);
    }
  }

  /** See {@link KeptLease.renewed}. */
  renewed(sentAt: number): void {
    if (this.held && !this.lost) {
      this.heldUntil = Math.max(this.heldUntil, sentAt + this.validityMs());
    }
  }

  /** See {@link KeptLease.markLost}. */
  markLost(): void {
    this.lose();
  }

  /**
   * Gives the lease to a process with fewer (the run then stands by, as after a lost lease).
   * Delivery stops first; the release is sent once the event being handled (if any) is done, so
   * that the next holder never starts beside it. An event still in hand when the lease's time runs
   * out, or a release that fails, lets the lease lapse to the next holder instead.
   */
  async yieldTo(): Promise<void> {
    const until = this.heldUntil;
    this.handingOver = true;
    this.lose();
    const remaining = until - performance.now();
    const finished = await Promise.race([
      this.drained().then(
        // and a turn more, for the run to record the event it just handled (see `handled`)
        () => new Promise<boolean>((resolve) => setImmediate(() => resolve(true))),
        () => true,
      ),
      sleep(Math.max(0, remaining), false, { ref: false }),
    ]);
    this.handingOver = false;
    if (!finished || performance.now() >= until) {
      this.logger.log('Handing its lease over: the event in hand outlasted the lease, which lapses to the next holder');
      return;
    }
    this.writing = this.writing
      .then(() => this.store.release(this.name, this.owner, this.pending))
      .catch((error: unknown) => this.logger.warn(`Handing the lease back failed (${String(error)}); letting it lapse`));
    await this.writing;
    this.logger.log('Handed its lease to a process that holds fewer');
  }

  private begin(sentAt: number): void {
    this.lost = false;
    this.handingOver = false;
    this.losing = new AbortController();
    this.held = true;
    this.heldUntil = sentAt + this.validityMs();
    this.pending = null;
    this.sinceWrite = 0;
    this.keeper.hold(this);
  }

  /**
   * How long a confirmation counts, from the moment its statement was sent: the lease time less a
   * tenth, for clocks that run at slightly different rates.
   */
  private validityMs(): number {
    return this.timing.leaseMs - Math.ceil(this.timing.leaseMs / 10);
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

  private async write(checkpoint: number | null): Promise<void> {
    if (this.lost) {
      return;
    }
    this.sinceWrite = checkpoint === null ? this.sinceWrite : 0;
    const sentAt = performance.now();
    const held = await this.store.renew(this.name, this.owner, this.timing.leaseMs, checkpoint).catch((error: unknown) => {
      this.logger.warn(`Could not write the checkpoint: ${String(error)}`);
      if (checkpoint !== null && !this.lost) {
        // Still due: written at the next event, or by the timer, rather than lost until the next batch.
        this.sinceWrite = this.timing.checkpointEvery;
        this.flushTimer ??= setTimeout(() => void this.flush().catch(() => undefined), this.timing.checkpointIntervalMs).unref();
      }
      return undefined; // unknown: the lease runs out unless a renewal confirms it
    });
    if (held === true) {
      this.renewed(sentAt);
    } else if (held === false) {
      this.markLost();
    }
  }

  private lose(): void {
    this.lost = true;
    this.stop();
    this.losing.abort();
  }

  private stop(): void {
    this.held = false;
    this.keeper.forget(this);
    clearTimeout(this.flushTimer);
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
