import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import type { DatabaseSession } from '../storage/database-executor.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { optionalInteger, pageSize } from '../validation/paging.validation.js';
import type { ProgressListener } from './progress.js';
import type { RestampedRows, RestampOptions, RestampResult } from './restamp-result.js';
import { RestampTransactionCounter } from './restamp-transaction-counter.js';
import {
  copyDeletedPositionsSql,
  countPageSql,
  immutabilitySql,
  immutabilityTriggerSql,
  lockTablesSql,
  RESTAMPED_COLUMNS,
  rewritePageSql,
  transactionCounterSql,
  transactionIdColumnsSql,
  walkedRowsSql,
  writersSql,
  type RestampPageRow,
  type TransactionCounterRow,
  type WriterRow,
} from './restamp.sql.js';

const DEFAULT_BATCH_SIZE = 10_000;
const MAX_BATCH_SIZE = 100_000;
const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/** A restamp is a one-off of a store that may be large: its transactions get a day, each statement its usual limit. */
const DEADLINE_MS = 24 * 60 * 60 * 1000;
const NOTHING: RestampedRows = { events: 0, hardDeletedPositions: 0, eventTags: 0, streamLinks: 0 };

/** Stops the rewrite's transaction (rolled back) when the signal fires. */
class Interrupted extends Error {}

/** How far a walk came: rows, groups so far, and where the next page starts. */
interface WalkState {
  rows: number;
  groups: number;
  transactionId: string;
  position: string;
  previous: string | null;
}

/** Tells progress over the whole restamp: the counting walk, the ids consumed (and left to consume), the rewrite. */
type Progress = (step: 'counted' | 'advanced' | 'rewritten', done: number, left?: number) => void;

/**
 * `restamp`: gives the store's rows new transaction ids after a restore into another cluster, so
 * that `$all` shows every event at once, in exactly the order it had, and new appends sort after
 * them. The rows of `$all` (events, and hard-deleted positions) are walked in `$all` order and
 * split wherever the position goes down; each stretch gets one small id, 3, 4, ... in order, so
 * ordering by (id, position) is the order walked (restamp.sql.ts). Positions stay, so every
 * cursor and checkpoint (subscriptions, projections) keeps meaning "after this event".
 *
 * In three steps: a read-only walk counts the ids needed; the cluster's counter is moved past
 * them if it is not already (a young cluster); then one transaction rewrites the rows under a lock
 * that writers wait for and readers do not, with the immutability trigger off for that transaction
 * only. Run once after `pg_restore`, before the services start: it refuses while other sessions
 * write to the store. Running it again changes nothing.
 */
@Injectable()
export class RestampOperation {
  private readonly logger = new Logger(RestampOperation.name);
  private readonly counter: RestampTransactionCounter;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.counter = new RestampTransactionCounter(database.executor);
  }

  async run(options: RestampOptions = {}): Promise<RestampResult> {
    const batchSize = pageSize(options.batchSize, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, 'batchSize');
    const lockTimeoutMs = optionalInteger(options.lockTimeoutMs, 'lockTimeoutMs', 1) ?? DEFAULT_LOCK_TIMEOUT_MS;
    await this.refuseUnknownColumns();
    const progress = this.progress(options.onProgress, await this.walkedRows());
    const counted = await this.count(batchSize, progress, options.signal);
    const result: RestampResult = {
      rows: counted.rows,
      groups: counted.groups,
      restamped: NOTHING,
      transactionIdsAdvanced: 0,
      interrupted: false,
    };
    if (counted.interrupted) return { ...result, interrupted: true };
    if (counted.rows === 0) return result;
    const highest = BigInt(counted.groups + 2);
    result.transactionIdsAdvanced = await this.counter.advancePast(highest, (n, left) => progress('advanced', n, left), options.signal);
    if (options.signal?.aborted) return { ...result, interrupted: true };
    await this.counter.awaitPast(highest, lockTimeoutMs);
    const rewritten = await this.rewrite(batchSize, lockTimeoutMs, progress, options.signal);
    if (rewritten === undefined) return { ...result, interrupted: true };
    this.logger.log(
      `Restamped schema ${this.database.options.schema}: ${rewritten.rows} row(s) in ${rewritten.groups} group(s), ${JSON.stringify(rewritten.restamped)} changed, ${result.transactionIdsAdvanced} transaction id(s) consumed first`,
    );
    return { ...result, ...rewritten };
  }

  /** Every xid8 column must be one restamp knows: a column it left alone could hide rows or break an order. */
  private async refuseUnknownColumns(): Promise<void> {
    const rows = await this.database.executor.query<{ name: string }>(
      { text: transactionIdColumnsSql, values: [this.database.options.schema] },
      { idempotent: true, readOnly: true },
    );
    const unknown = rows.map((row) => row.name).filter((name) => !(RESTAMPED_COLUMNS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      throw new Error(
        `Schema '${this.database.options.schema}' has transaction-id (xid8) column(s) restamp does not know: ${unknown.join(', ')}. It rewrites only the columns of the store's own migrations: run it with the version of the library whose migrations made this schema`,
      );
    }
  }

  private async walkedRows(): Promise<number> {
    const [row] = await this.database.executor.query<{ total: string }>(
      { text: walkedRowsSql(this.database.schema) },
      { idempotent: true, readOnly: true },
    );
    return Number(row!.total);
  }

  /**
   * Progress as one count over the three steps: rows counted, ids consumed, rows rewritten. The
   * total is twice the rows, plus the ids to consume once the count has told how many.
   */
  private progress(listener: ProgressListener | undefined, rows: number): Progress {
    const done = { counted: 0, advanced: 0, rewritten: 0 };
    let toAdvance = 0;
    return (step, n, left = 0) => {
      done[step] = n;
      if (step === 'advanced') toAdvance = n + left;
      const sum = done.counted + done.advanced + done.rewritten;
      listener?.({ done: sum, total: Math.max(2 * rows + toAdvance, sum) });
    };
  }

  /** The read-only walk: rows and groups, in a transaction of its own (its copy of the deleted positions goes at its end). */
  private async count(batchSize: number, progress: Progress, signal?: AbortSignal): Promise<WalkState & { interrupted: boolean }> {
    return this.database.executor.transaction(
      async (session) => {
        await session.query(copyDeletedPositionsSql(this.database.schema));
        const state = start();
        while (!signal?.aborted) {
          const page = await this.page(session, countPageSql(this.database.schema), state, batchSize, []);
          progress('counted', state.rows);
          if (page.rows < batchSize) return { ...state, interrupted: false };
        }
        return { ...state, interrupted: true };
      },
      { idempotent: true, deadline: this.database.executor.deadline(DEADLINE_MS) },
    );
  }

  /** The rewrite, in one transaction: `undefined` when the signal stopped it (rolled back, nothing changed). */
  private async rewrite(
    batchSize: number,
    lockTimeoutMs: number,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<Pick<RestampResult, 'rows' | 'groups' | 'restamped'> | undefined> {
    try {
      return await this.database.executor.transaction((session) => this.rewriteIn(session, batchSize, lockTimeoutMs, progress, signal), {
        idempotent: false,
        deadline: this.database.executor.deadline(DEADLINE_MS),
        setup: `SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`,
      });
    } catch (error) {
      if (error instanceof Interrupted) return undefined;
      throw error;
    }
  }

  private async rewriteIn(
    session: DatabaseSession,
    batchSize: number,
    lockTimeoutMs: number,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<Pick<RestampResult, 'rows' | 'groups' | 'restamped'>> {
    const s = this.database.schema;
    const xmin = await this.lock(session, lockTimeoutMs);
    const [trigger] = (await session.query<{ enabled: boolean }>(immutabilityTriggerSql(s))).rows;
    if (trigger?.enabled) await session.query(immutabilitySql(s, false));
    await session.query(copyDeletedPositionsSql(s));
    const state = start();
    const restamped = { ...NOTHING };
    for (let page: RestampPageRow | undefined; page === undefined || page.rows === batchSize;) {
      if (signal?.aborted) throw new Interrupted();
      page = await this.page(session, rewritePageSql(s), state, batchSize, [state.previous === null]);
      addRestamped(restamped, page);
      progress('rewritten', state.rows);
    }
    if (trigger?.enabled) await session.query(immutabilitySql(s, true));
    this.refuseIfNotBelow(BigInt(state.groups + 2), xmin);
    return { rows: state.rows, groups: state.groups, restamped };
  }

  /**
   * Refuses writers in flight (sessions holding more than a read lock on the store's tables), then
   * locks the tables against writers, waiting at most `lockTimeoutMs` (autovacuum gives way within
   * a second). Returns the cluster's `xmin` once locked: every transaction running then or later
   * has an id at or above it, so the new ids must all be below it.
   */
  private async lock(session: DatabaseSession, lockTimeoutMs: number): Promise<bigint> {
    const s = this.database.schema;
    const writers = (await session.query<WriterRow>(writersSql(s))).rows;
    if (writers.length > 0) throw this.busy(writers.map((w) => `pid ${w.pid} (${w.application_name || '?'}: ${w.mode} on ${w.relname})`));
    try {
      await session.query(lockTablesSql(s));
    } catch (error) {
      if ((error as { code?: string }).code === '55P03') throw this.busy([`a lock held for over ${lockTimeoutMs} ms`]);
      throw error;
    }
    const [counter] = (await session.query<TransactionCounterRow>(transactionCounterSql)).rows;
    return BigInt(counter!.xmin);
  }

  private busy(holders: string[]): EventStoreTimeoutError {
    return new EventStoreTimeoutError(
      `Restamp needs schema '${this.database.options.schema}' to itself, and other sessions write to it: ${holders.join(', ')}. Stop every service and process that uses the store, then run restamp again (before starting them)`,
      { holders },
    );
  }

  /** The walk met more groups than counted (rows came meanwhile): its ids would not all be visible at once. */
  private refuseIfNotBelow(highest: bigint, xmin: bigint): void {
    if (highest < xmin) return;
    throw new EventStoreTimeoutError(
      `The store changed while restamp ran (it now needs transaction ids up to ${highest}, and the cluster's oldest running transaction is ${xmin}): nothing was changed; stop every writer and run restamp again`,
      { highestTransactionId: highest.toString(), xmin: xmin.toString() },
    );
  }

  /** Runs one page and moves `state` past it. */
  private async page(
    session: DatabaseSession,
    sql: string,
    state: WalkState,
    batchSize: number,
    extra: unknown[],
  ): Promise<RestampPageRow> {
    const values = [state.transactionId, state.position, batchSize, state.previous, Math.max(state.groups, 1), ...extra];
    const [page] = (await session.query<RestampPageRow>({ text: sql, values })).rows;
    if (page!.raised) {
      // The walk relies on new ids never being above old ones (restamp.sql.ts); a store whose ids
      // break that (ids below 3, written by hand) is refused rather than walked wrongly.
      throw new Error(`Restamp found transaction ids below 3 in schema '${this.database.options.schema}': it cannot restamp this store`);
    }
    if (page!.rows === 0) return page!;
    state.rows += page!.rows;
    state.groups = Number(page!.last_group);
    state.transactionId = page!.last_transaction_id!;
    state.position = state.previous = page!.last_position!;
    return page!;
  }
}

function start(): WalkState {
  return { rows: 0, groups: 0, transactionId: '0', position: '0', previous: null };
}

function addRestamped(total: RestampedRows, page: RestampPageRow): void {
  total.events += page.events ?? 0;
  total.hardDeletedPositions += page.deleted ?? 0;
  total.eventTags += page.tags ?? 0;
  total.streamLinks += page.links ?? 0;
}
