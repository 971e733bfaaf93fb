import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventReader } from '../storage/event-reader.js';
import type { EventNotifier } from '../subscriptions/event-notifier.js';
import { allFilterConcerns, type WakeFilter } from '../subscriptions/wake-hints.js';
import type { TransactionRunner } from '../transactions/transaction-runner.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { ReadAllResult } from '../types/read-options.js';
import { backoff, isOutage, ProjectionBatches, type BatchTarget } from './projection-batches.js';
import type { ProjectionDefinition } from './projection-definition.js';
import { describe, ProjectionEventFailed, ProjectionLeaseLost } from './projection-signals.js';
import { sameTables } from './projection-tables.js';
import type { ProjectionsRepository, StoredProjectionError } from './projections.repository.js';
import type { ProjectionRow } from './sql/projections.sql.js';

/** How long a lease lasts without renewal: a dead process's projection is taken over after it. */
export const PROJECTION_LEASE_MS = 3_000;
/** How often the holder renews its lease (each batch's fence renews it too). */
const RENEW_EVERY_MS = 1_000;
/** How often a process standing by tries for the lease: takeover within a lease and a poll. */
const STANDBY_POLL_MS = 500;
/** How long a renewal counts, from when it was sent: the lease less a tenth, for clock rates. */
const VALIDITY_MS = PROJECTION_LEASE_MS - PROJECTION_LEASE_MS / 10;

/** What a runner needs of the store: made once by the manager. */
export interface ProjectionParts {
  repository: ProjectionsRepository;
  reads: EventReader;
  notifier: EventNotifier;
  transactions: TransactionRunner;
  /** This process's lease owner id. */
  owner: string;
}

/**
 * Runs one projection in this process: takes its lease (or stands by while another process holds
 * it), then reads `$all` (filtered) after the checkpoint, a batch at a time, and applies each batch
 * in one transaction that ends with the fenced checkpoint write (see {@link ProjectionBatches}).
 * Catch-up and live are one loop: an empty read waits for a wake-up and reads again from the same
 * cursor. An event that keeps failing halts the projection there, for every process, until it is
 * resumed (`resumeProjection`, or this process's next start).
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly batches: ProjectionBatches;
  private readonly concerns: WakeFilter;
  private held = false;
  private heldUntil = 0;
  /** Aborted when the lease held now is lost: ends a wait for events at once. */
  private losing = new AbortController();
  private renewTimer?: NodeJS.Timeout;
  /** When the last fence of a batch was sent (it renews the lease once committed). */
  private fenceSentAt = 0;
  private wakeStandby?: () => void;
  private standbyReason?: string;
  /** Why the projection could not be created (its row and tables), if it could not. */
  private startFailure?: StoredProjectionError;
  /** Settles once the projection's row exists (its tables created by whichever process came first). */
  readonly ready: Promise<void>;
  /** Settles once the run has stopped and handed its lease back. */
  readonly stopped: Promise<void>;

  constructor(
    readonly definition: ProjectionDefinition,
    private readonly parts: ProjectionParts,
  ) {
    this.logger = new Logger(`Projection(${definition.name})`);
    this.batches = new ProjectionBatches(definition, parts.transactions, this.abort.signal, this.logger);
    this.concerns = allFilterConcerns(definition.filter);
    this.ready = this.ensure();
    this.ready.catch(() => undefined);
    this.stopped = this.run();
  }

  get name(): string {
    return this.definition.name;
  }

  /** Why the projection could not be created in this process (its row and tables), if so. */
  get failure(): StoredProjectionError | undefined {
    return this.startFailure;
  }

  /** Tries for the lease now rather than at the next poll (after a resume or a rebuild's switch). */
  poke(): void {
    this.wakeStandby?.();
  }

  /** Stops: a batch in progress rolls back; the lease is handed back. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.losing.abort();
    this.poke();
    await this.stopped;
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    try {
      await this.ready;
    } catch (error) {
      if (signal.aborted) return;
      this.startFailure = storedError(undefined, error, 1);
      this.logger.error(
        `Could not create the projection (${describe(error)}); it does not run in this process (status 'failed'): fix the cause, then call store.resumeProjection('${this.name}') (or restart)`,
      );
      return;
    }
    while (!signal.aborted) {
      const start = await this.acquire();
      if (start === undefined) break;
      await this.project(start).catch((error: unknown) => this.afterRun(error));
    }
    this.stopHolding();
    await this.parts.repository.release(this.name, this.parts.owner).catch((error: unknown) => {
      this.logger.warn(`Could not hand back its lease (${describe(error)}); it lapses within ${PROJECTION_LEASE_MS} ms`);
    });
  }

  /** What a run that ended means: lost its lease, halted at an event, or failed otherwise. */
  private async afterRun(error: unknown): Promise<void> {
    this.stopHolding();
    if (this.abort.signal.aborted) return;
    if (error instanceof ProjectionLeaseLost) {
      this.logger.log('No longer holds the projection (another process took it over, or a rebuild switched it); standing by');
      return;
    }
    if (error instanceof ProjectionEventFailed) {
      return this.halt(error);
    }
    this.logger.error(`Stopped by ${describe(error)}; trying again shortly`);
    const { repository, owner } = this.parts;
    await repository.recordError(this.name, owner, storedError(undefined, error, 1)).catch(() => undefined);
    await repository.release(this.name, owner).catch(() => undefined);
    await sleep(backoff({ initialDelayMs: 1_000, maxDelayMs: 10_000 }, 1), undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  /** Creates the row (and the tables, if first); resumes a halted projection (a restart resumes). */
  private async ensure(): Promise<void> {
    const { repository, transactions } = this.parts;
    const { name, filter, tables, handler } = this.definition;
    const created = await this.outlasting(() =>
      transactions.run(async (tx) => {
        const inserted = await repository.create(tx, name, filter, tables);
        if (inserted) await handler.createTables(tx, tables);
        return inserted;
      }),
    );
    if (created) this.logger.log(`Created its tables (${Object.values(tables).join(', ')})`);
    const row = await this.outlasting(() => repository.find(name));
    if (row?.status === 'halted' && (await this.outlasting(() => repository.resume(name)))) {
      this.logger.warn(`Was halted at event ${row.failed_event_id} (${describeStored(row)}); resuming it at this start`);
    }
  }

  /** Waits until this process holds the lease: the checkpoint and generation to go on from. */
  private async acquire(): Promise<{ checkpoint: number; generation: number } | undefined> {
    const { repository, owner } = this.parts;
    const { name, filter, tables } = this.definition;
    for (let tries = 0; !this.abort.signal.aborted; tries++) {
      const sentAt = performance.now();
      const taken = await repository.acquire(name, owner, PROJECTION_LEASE_MS, filter, tables).catch((error: unknown) => {
        this.logger.debug(`Could not try for the lease: ${describe(error)}`);
        return undefined;
      });
      if (taken !== undefined) {
        this.hold(sentAt);
        if (this.standbyReason !== undefined) this.logger.log('Took over the projection');
        this.standbyReason = undefined;
        return taken;
      }
      if (tries % 20 === 0) await this.explainStandby();
      await this.standbyPause();
    }
    return undefined;
  }

  /** Reads $all after the checkpoint and applies it, batch by batch, until stopped or no longer held. */
  private async project(start: { checkpoint: number; generation: number }): Promise<void> {
    const { signal } = this.abort;
    const target = this.target(start.generation);
    let cursor = start.checkpoint;
    while (!signal.aborted) {
      this.assertHeld();
      const seen = this.parts.notifier.current;
      const page = await this.read(cursor);
      const next = page.nextFromPosition ?? cursor;
      if (page.events.length === 0 && next === cursor) {
        await this.parts.notifier.wait(seen, this.definition.pollIntervalMs, [signal, this.losing.signal], this.concerns);
        continue;
      }
      // An empty page whose cursor moved (a filter that matched nothing in its scan) moves the checkpoint alone.
      cursor = await this.batches.apply(target, cursor, page.events, next);
      this.renewed(this.fenceSentAt);
    }
  }

  private target(generation: number): BatchTarget {
    const { repository, owner } = this.parts;
    const { name, tables } = this.definition;
    return {
      tables,
      fence: async (tx, from, to) => {
        this.fenceSentAt = performance.now();
        return repository.advance(tx, { name, owner, leaseMs: PROJECTION_LEASE_MS, from, to, generation });
      },
      assertHeld: () => this.assertHeld(),
      failed: (event, error, attempts) => repository.recordError(name, owner, storedError(event, error, attempts)),
    };
  }

  private async read(cursor: number): Promise<ReadAllResult> {
    const { batchSize, filter } = this.definition;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.parts.reads.readAll('forward', { fromPosition: cursor, maxCount: batchSize, filter });
      } catch (error) {
        if (this.abort.signal.aborted || !(isOutage(error) || (error as { code?: string }).code === 'TIMEOUT')) throw error;
        await this.batches.waitOut(error, attempt);
      }
    }
  }

  /** Halts at the event that kept failing, for every process, and hands the lease back. */
  private async halt(failure: ProjectionEventFailed): Promise<void> {
    const stored = storedError(failure.event, failure.failure, failure.attempts);
    this.logger.error(
      `Halted: ${failure.message}. Everything before it is applied (checkpoint ${failure.checkpoint}); fix the cause, then call store.resumeProjection('${this.name}') (or restart)`,
    );
    const halted = await this.outlasting(() => this.parts.repository.halt(this.name, this.parts.owner, stored, failure.checkpoint)).catch(
      () => false,
    );
    if (!halted && !this.abort.signal.aborted) this.logger.warn('Could not record the halt: the projection is no longer this process’s');
    this.standbyReason = 'halted';
  }

  private hold(sentAt: number): void {
    this.held = true;
    this.heldUntil = sentAt + VALIDITY_MS;
    this.losing = new AbortController();
    this.scheduleRenewal();
  }

  private renewed(sentAt: number): void {
    if (this.held) this.heldUntil = Math.max(this.heldUntil, sentAt + VALIDITY_MS);
  }

  private stopHolding(): void {
    this.held = false;
    clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    this.losing.abort();
  }

  /** Throws {@link ProjectionLeaseLost} once the lease is not certainly this process's. */
  private assertHeld(): void {
    if (!this.held || performance.now() > this.heldUntil) {
      throw new ProjectionLeaseLost(`Projection ${this.name}: its lease was not confirmed in time`);
    }
  }

  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => void this.renew(), RENEW_EVERY_MS).unref();
  }

  private async renew(): Promise<void> {
    if (!this.held) return;
    const sentAt = performance.now();
    const renewed = await this.parts.repository.renew(this.name, this.parts.owner, PROJECTION_LEASE_MS).catch((error: unknown) => {
      this.logger.debug(`Could not renew its lease: ${describe(error)}`);
      return undefined; // unknown: the lease runs out unless a later renewal confirms it
    });
    if (!this.held) return;
    if (renewed === false) {
      this.stopHolding(); // taken away: the run's next check stops it
      return;
    }
    if (renewed === true) this.renewed(sentAt);
    this.scheduleRenewal();
  }

  /** Logs, once per reason, why this process stands by. */
  private async explainStandby(): Promise<void> {
    const row = await this.parts.repository.find(this.name).catch(() => undefined);
    const reason = row === undefined ? undefined : this.reasonOf(row);
    if (reason === undefined || reason === this.standbyReason) return;
    this.standbyReason = reason;
    if (reason === 'halted') {
      this.logger.warn(`Halted at event ${row!.failed_event_id} (${describeStored(row!)}): standing by until it is resumed`);
    } else if (reason === 'definition') {
      this.logger.warn(
        `Stored with another definition (tables ${JSON.stringify(row!.tables)}, filter ${JSON.stringify(row!.filter)}): this process runs it once store.rebuildProjection('${this.name}') has switched it to this one`,
      );
    } else {
      this.logger.log(`Another process (${row!.owner}) runs it; standing by to take over`);
    }
  }

  private reasonOf(row: ProjectionRow): string | undefined {
    if (row.status === 'halted') return 'halted';
    const sameFilter = JSON.stringify(sortKeys(row.filter)) === JSON.stringify(sortKeys(this.definition.filter));
    if (!sameFilter || !sameTables(row.tables, this.definition.tables)) return 'definition';
    return row.lease_valid ? 'held' : undefined; // free: the next try takes it
  }

  private async standbyPause(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STANDBY_POLL_MS).unref();
      this.wakeStandby = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeStandby = undefined;
  }

  /** Runs `work` again while the database is unavailable; other errors are thrown. */
  private async outlasting<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (this.abort.signal.aborted || !(isOutage(error) || (error as { code?: string }).code === 'TIMEOUT')) throw error;
        await this.batches.waitOut(error, attempt);
      }
    }
  }
}

/** A failed attempt as stored in the row. */
export function storedError(event: RecordedEvent | undefined, error: unknown, attempts: number): StoredProjectionError {
  return {
    message: describe(error),
    at: new Date().toISOString(),
    attempts,
    eventId: event?.eventId ?? null,
    globalPosition: event?.globalPosition ?? null,
    streamId: event?.streamId ?? null,
    streamVersion: event?.streamVersion ?? null,
    eventType: event?.eventType ?? null,
  };
}

function describeStored(row: ProjectionRow): string {
  const message = (row.last_error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : 'no error recorded';
}

/** A JSON value with its object keys sorted, for comparing definitions whatever their key order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, inner]) => [key, sortKeys(inner)]),
  );
}
