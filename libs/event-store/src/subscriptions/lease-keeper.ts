import { Logger } from '@nestjs/common';
import { leaseKey, type LeaseCandidate, type SubscriptionsRepository } from '../storage/subscriptions.repository.js';

/** How long the keeper gathers runs that start (or lose their lease) together before trying for them. */
const START_BATCH_MS = 20;

/** What the keeper needs of a lease it renews, or acquires for a run standing by. */
export interface KeptLease {
  readonly name: string;
  readonly owner: string;
  /** Whether the process prefers to take this lease when it holds the fewest (see `LeaseTiming.spread`). */
  readonly spreads: boolean;
  /** Whether its run waits for the lease while another holds it (`false`: a `held` answer ends the wait). */
  readonly standsBy: boolean;
  /** Whether it holds the lease now (renewals due). */
  readonly isHeld: boolean;
  /** A renewal sent at `sentAt` (a `performance.now()` time) found the lease still this process's. */
  renewed(sentAt: number): void;
  /** A renewal found the lease taken away (another owner, a reset, a deletion). */
  markLost(): void;
  /** Another live process with at least two leases fewer wants it: hand it over. */
  yieldTo(): Promise<void>;
}

/**
 * How a standby's wait for a lease ended: its checkpoint when taken, with the time the query was
 * sent; `closed` once the process's subscriptions are shutting down.
 */
export type AcquireOutcome = { outcome: number | 'held' | 'gone' | 'closed'; sentAt: number; wasMine?: boolean };

interface Standby {
  lease: KeptLease;
  resolve: (outcome: AcquireOutcome) => void;
}

/** Timing of the keeper: one tick every `tickMs`; a lease lasts `leaseMs`. */
export interface LeaseKeeperTiming {
  leaseMs: number;
  /**
   * How often standbys try for their lease; renewals, membership and candidates come every other
   * tick, a hand-over every fourth at most.
   */
  tickMs: number;
  /** Whether this process may hand a lease back now (one at a time per process). */
  mayYield: () => boolean;
}

/**
 * The leases of one process, kept with a few statements per tick, however many there are:
 * renewals of every held lease in one statement, the tries of every run standing by in another,
 * and the spreading of leases over processes (membership, candidates) in two more. Each held
 * lease learns when it was last confirmed; a run stops starting events once that confirmation is
 * older than its lease allows (see {@link SubscriptionLease}), so a renewal that does not answer
 * never counts as held.
 */
export class LeaseKeeper {
  private readonly logger = new Logger('SubscriptionLeases');
  private readonly held = new Set<KeptLease>();
  private readonly standbys = new Map<KeptLease, Standby>();
  /** The latest candidates of every spreading lease, for the standbys' turns. */
  private candidates = new Map<string, LeaseCandidate[]>();
  private renewals = 0;
  private renewTimer?: NodeJS.Timeout;
  private standbyTimer?: NodeJS.Timeout;
  /** When the standby loop runs next (a `performance.now()` time). */
  private standbyDue = Infinity;
  private standbyBusy = false;
  private closed = false;
  private failing = false;

  constructor(
    private readonly store: SubscriptionsRepository,
    private readonly timing: LeaseKeeperTiming,
  ) {}

  /** Starts renewing a lease just acquired. */
  hold(lease: KeptLease): void {
    this.held.add(lease);
    this.scheduleRenewals();
  }

  /** Stops renewing a lease (handed back, lost or released). */
  forget(lease: KeptLease): void {
    this.held.delete(lease);
  }

  /**
   * Waits until a tick takes the lease for a run standing by (a number), finds it deleted
   * (`gone`), or `signal` aborts (`held`).
   */
  waitForTurn(lease: KeptLease, signal: AbortSignal): Promise<AcquireOutcome> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ outcome: 'closed', sentAt: performance.now() });
      if (signal.aborted) return resolve({ outcome: 'held', sentAt: performance.now() });
      const onAbort = (): void => {
        this.standbys.delete(lease);
        resolve({ outcome: 'held', sentAt: performance.now() });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.standbys.set(lease, {
        lease,
        resolve: (outcome) => {
          signal.removeEventListener('abort', onAbort);
          this.standbys.delete(lease);
          resolve(outcome);
        },
      });
      // Soon, gathering the runs that start together into one statement; then every tick.
      this.scheduleStandbys(START_BATCH_MS);
      this.scheduleRenewals();
    });
  }

  /**
   * How long a process counts as wanting a lease after saying so (every other tick): the lease and
   * a tick. No longer: a dead process, holding no lease any more, would otherwise be the candidate
   * with the fewest and keep the others from taking over.
   */
  private get aliveMs(): number {
    return this.timing.leaseMs + this.timing.tickMs;
  }

  /** Whether the process's subscriptions are shutting down. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Stops ticking; standbys still waiting hear `closed` (their runs stop). */
  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.standbyTimer);
    this.renewTimer = this.standbyTimer = undefined;
    for (const standby of [...this.standbys.values()]) standby.resolve({ outcome: 'closed', sentAt: performance.now() });
  }

  /** Renewals and spreading, every other tick while this process holds or wants a lease. */
  private scheduleRenewals(): void {
    if (this.renewTimer !== undefined || this.closed) return;
    this.renewTimer = setTimeout(() => void this.renewalTick(), 2 * this.timing.tickMs).unref();
  }

  /** The standbys' tries, in `delayMs` (or sooner if already due sooner). */
  private scheduleStandbys(delayMs: number): void {
    if (this.closed) return;
    const due = performance.now() + delayMs;
    if (this.standbyTimer !== undefined) {
      if (this.standbyDue <= due) return;
      clearTimeout(this.standbyTimer);
    }
    this.standbyDue = due;
    this.standbyTimer = setTimeout(() => void this.standbyTick(), delayMs).unref();
  }

  private async renewalTick(): Promise<void> {
    try {
      await this.renew();
      await this.spread(++this.renewals % 2 === 0);
      if (this.failing) this.logger.log('Lease renewals answer again');
      this.failing = false;
    } catch (error) {
      // Held leases run out by themselves (their runs stop delivering); the next tick tries again.
      if (!this.failing) this.logger.warn(`Could not renew leases: ${String(error)}`);
      this.failing = true;
    } finally {
      this.renewTimer = undefined;
      if (this.held.size > 0 || this.standbys.size > 0) this.scheduleRenewals();
    }
  }

  private async standbyTick(): Promise<void> {
    this.standbyTimer = undefined;
    this.standbyDue = Infinity;
    if (this.standbyBusy) {
      this.scheduleStandbys(START_BATCH_MS); // one round at a time
      return;
    }
    this.standbyBusy = true;
    try {
      await this.tryStandbys();
    } catch (error) {
      this.logger.debug(`Could not take leases: ${String(error)}`);
    } finally {
      this.standbyBusy = false;
      if (this.standbys.size > 0) this.scheduleStandbys(this.timing.tickMs);
    }
  }

  /** Renews every held lease in one statement. */
  private async renew(): Promise<void> {
    const leases = [...this.held].filter((lease) => lease.isHeld);
    if (leases.length === 0) return;
    const sentAt = performance.now();
    const { renewed, lost } = await this.store.renewAll(leases, this.timing.leaseMs, this.deadline());
    for (const lease of leases) {
      const key = leaseKey(lease.name, lease.owner);
      if (renewed.has(key)) lease.renewed(sentAt);
      else if (lost.has(key)) lease.markLost();
      // else: its row was locked by another transaction; the lease runs on until a renewal answers
    }
  }

  /**
   * Spreading leases: says this process wants each (membership), reads who else does, and (every
   * other time) hands one over to a process holding at least two fewer.
   */
  private async spread(mayHandOver: boolean): Promise<void> {
    const spreading = [...new Set([...this.held, ...this.standbys.keys()])].filter((lease) => lease.spreads);
    if (spreading.length === 0) return;
    const names = spreading.map((lease) => lease.name);
    const { aliveMs } = this;
    const owners = [...new Set(spreading.map((lease) => lease.owner))];
    for (const owner of owners) {
      await this.store.heartbeatAll(
        spreading.filter((lease) => lease.owner === owner).map((lease) => lease.name),
        owner,
        this.deadline(),
      );
    }
    this.candidates = await this.store.candidatesOf(names, aliveMs, this.deadline());
    if (!mayHandOver) return;
    for (const lease of spreading) {
      if (!lease.isHeld || !this.shouldYield(lease)) continue;
      if (!this.timing.mayYield()) break;
      // Not awaited: it waits for the event in hand, and the other leases' renewals must not.
      void lease.yieldTo().catch(() => undefined);
    }
  }

  private shouldYield(lease: KeptLease): boolean {
    const candidates = this.candidates.get(lease.name) ?? [];
    const mine = candidates.find((candidate) => candidate.member === lease.owner)?.leases ?? 0;
    return candidates.some((candidate) => candidate.member !== lease.owner && candidate.leases + 1 < mine);
  }

  /** Tries for every standby whose turn it is in one statement; finds the deleted ones in another. */
  private async tryStandbys(): Promise<void> {
    const waiting = [...this.standbys.values()];
    if (waiting.length === 0) return;
    const turn = waiting.filter(({ lease }) => this.isTurnOf(lease));
    const others = waiting.filter((standby) => !turn.includes(standby));
    const sentAt = performance.now();
    for (const owner of new Set(turn.map(({ lease }) => lease.owner))) {
      const mine = turn.filter(({ lease }) => lease.owner === owner);
      const outcomes = await this.store.acquireAll(
        mine.map(({ lease }) => lease.name),
        owner,
        this.timing.leaseMs,
        this.deadline(),
      );
      for (const standby of mine) {
        const { outcome, wasMine } = outcomes.get(standby.lease.name)!;
        if (this.standbys.get(standby.lease) === standby) {
          if (outcome !== 'held' || !standby.lease.standsBy) standby.resolve({ outcome, sentAt, wasMine });
        } else if (typeof outcome === 'number' && !this.wanted(standby.lease.name, owner)) {
          // Its run stopped while the statement ran: the lease taken for it goes straight back,
          // unless another run of this process has the name by now (the lease is then its own).
          void this.store.release(standby.lease.name, owner, null).catch(() => undefined);
        }
      }
    }
    if (others.length > 0) {
      const present = await this.store.existing(
        others.map(({ lease }) => lease.name),
        this.deadline(),
      );
      for (const standby of others) {
        if (!present.has(standby.lease.name)) standby.resolve({ outcome: 'gone', sentAt });
      }
    }
  }

  /** Whether a run of this process holds, or waits for, the lease `name` of `owner` now. */
  private wanted(name: string, owner: string): boolean {
    return [...this.held, ...this.standbys.keys()].some((lease) => lease.name === name && lease.owner === owner);
  }

  /** Whether a standby should try now: always, unless spreading says another process should. */
  private isTurnOf(lease: KeptLease): boolean {
    if (!lease.spreads) return true;
    const [first] = this.candidates.get(lease.name) ?? [];
    return first === undefined || first.member === lease.owner;
  }

  /** A tick's statements are worth nothing once the leases they renew have run out. */
  private deadline(): number {
    return Date.now() + this.timing.leaseMs;
  }
}
