import { setTimeout as sleep } from 'node:timers/promises';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import type { DatabaseExecutor } from '../storage/database-executor.js';
import {
  blockingTransactionsSql,
  consumeTransactionIdsSql,
  transactionCounterSql,
  type BlockingTransactionRow,
  type TransactionCounterRow,
} from './restamp.sql.js';

/** Transaction ids consumed per statement: about a quarter of a second of work. */
const CONSUME_BATCH = 50_000;
/** How often the wait for older transactions looks again. */
const POLL_MS = 100;

/**
 * The cluster's transaction counter, as restamp needs it: new ids for the store's rows must lie
 * below every id the cluster will give from now on (so that new appends sort after them) and below
 * the oldest transaction still open (so that `$all` readers see them at once). A young cluster's
 * counter may be below the number of ids the store needs; it is moved on by running that many
 * empty transactions, which is all PostgreSQL offers short of `pg_resetwal -x` on a stopped server.
 */
export class RestampTransactionCounter {
  constructor(private readonly executor: DatabaseExecutor) {}

  /** The oldest transaction id still running (`xmin`) and the next to be given (`xmax`). */
  async read(): Promise<{ xmin: bigint; xmax: bigint }> {
    const [row] = await this.executor.query<TransactionCounterRow>({ text: transactionCounterSql }, { idempotent: true, readOnly: true });
    return { xmin: BigInt(row!.xmin), xmax: BigInt(row!.xmax) };
  }

  /**
   * Consumes transaction ids until the next one is above `highest`, in batches: `onBatch` hears of
   * each (the ids consumed so far, and those still to consume), `signal` stops it between two.
   * Returns the ids consumed.
   */
  async advancePast(highest: bigint, onBatch: (consumed: number, left: number) => void, signal?: AbortSignal): Promise<number> {
    let consumed = 0;
    for (let missing = await this.missing(highest); missing > 0 && !signal?.aborted; missing = await this.missing(highest)) {
      const count = Math.min(CONSUME_BATCH, missing);
      await this.executor.query({ text: consumeTransactionIdsSql(count) }, { idempotent: true });
      consumed += count;
      onBatch(consumed, missing - count);
    }
    return consumed;
  }

  /** Ids still to consume before the next one given is above `highest`. */
  async missing(highest: bigint): Promise<number> {
    const { xmax } = await this.read();
    return xmax > highest ? 0 : Number(highest - xmax + 1n);
  }

  /**
   * Waits until every transaction at or below `highest` has ended, so that rows stamped with such
   * ids are visible to every `$all` reader once written; `TIMEOUT` naming the transactions that
   * still run after `timeoutMs`.
   */
  async awaitPast(highest: bigint, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.read()).xmin <= highest) {
      if (Date.now() >= deadline) throw await this.heldBack(highest);
      await sleep(POLL_MS);
    }
  }

  private async heldBack(highest: bigint): Promise<EventStoreTimeoutError> {
    const rows = await this.executor.query<BlockingTransactionRow>({ text: blockingTransactionsSql }, { idempotent: true, readOnly: true });
    const open = rows.map(
      (row) => `pid ${row.pid} (database ${row.datname ?? '?'}, xid ${row.xid}, since ${row.xact_start?.toISOString() ?? '?'})`,
    );
    return new EventStoreTimeoutError(
      `Restamp needs every transaction up to id ${highest} of the cluster to have ended, and some are still open: ${open.join(', ')}. End them (or wait), then run restamp again`,
      { highestTransactionId: highest.toString(), open: rows.map((row) => row.pid) },
    );
  }
}
