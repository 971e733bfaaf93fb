import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { PersonalDataVault } from '../erasure/personal-data.vault.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { EventSerializer } from '../serialization/event-serializer.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { EventStoreObservers } from '../storage/event-store-observers.js';
import { EventsRepository } from '../storage/events.repository.js';
import { TimedOutWithoutEffect } from '../storage/pooled-session.js';
import { EventNotifier } from '../subscriptions/event-notifier.js';
import { optionalInteger } from '../validation/paging.validation.js';
import { AllOrderConflict, WorkFailure } from './all-order-conflict.js';
import { storeSearchPathSql } from './search-path.sql.js';
import { SessionTransaction, type TransactionParts } from './session-transaction.js';
import type { StoreTransaction } from './store-transaction.js';

/** Options of one {@link TransactionRunner.run} (`store.transaction`). */
export interface TransactionOptions {
  /**
   * Deadline of the whole transaction (the work, every statement, the commit, retries), in ms.
   * Past it the transaction is rolled back and the call fails with `TIMEOUT`. Default: the store's
   * `operationTimeoutMs` (60 s).
   */
  timeoutMs?: number;
}

/**
 * How many times the work runs at most when its appends would break the `$all` order. The second
 * run takes the conflicting streams' locks first, so it cannot conflict on them again: more runs are
 * needed only when it meets other streams.
 */
const MAX_ORDER_ATTEMPTS = 5;

/**
 * Runs work in one PostgreSQL transaction of the store (READ COMMITTED): `store.transaction`, and
 * the projections' batches. The work gets a {@link StoreTransaction}: its SQL (`query`) and the
 * store's appends (same validation and errors as `EventStore`'s) commit when it resolves and roll
 * back when it throws, the error rethrown as it was. Subscribers are woken after the commit only.
 *
 * The work may run more than once, each time in a fresh transaction: when PostgreSQL rolls it back
 * (deadlock, serialization failure), as the store's own writes are retried, and when its appends
 * would come out of order in `$all` (an append in a transaction that wrote before already has its
 * transaction id, which may be older than one committed to the stream meanwhile: docs/design.md).
 * Keep effects outside the database out of it.
 *
 * Table names without a schema resolve in the store's schema first, then along the connection's
 * usual search path ({@link storeSearchPathSql}): a projection's tables, and the reads of them,
 * belong to the store they were made by.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger(TransactionRunner.name);
  private readonly current = new AsyncLocalStorage<SessionTransaction>();
  private readonly parts: TransactionParts;
  private readonly searchPath: string;

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(EVENT_STORE_OPTIONS) options: ResolvedEventStoreOptions,
    @Inject(EventStoreDatabase) private readonly database: EventStoreDatabase,
    @Inject(EventsRepository) events: EventsRepository,
    @Inject(EventSerializer) serializer: EventSerializer,
    @Inject(EventStoreObservers) private readonly observers: EventStoreObservers,
    @Inject(EventNotifier) private readonly notifier: EventNotifier,
    @Inject(PersonalDataVault) vault: PersonalDataVault,
  ) {
    this.parts = { serializer, events, vault, maxAppendEvents: options.maxAppendEvents, schema: database.schema };
    this.searchPath = storeSearchPathSql(database.schema);
  }

  /**
   * Runs `work` in one transaction and returns what it resolved to, once committed. Refused
   * (`INVALID_ARGUMENT`) inside the work of another transaction: use its `tx` instead.
   *
   * @example
   * const gameId = await runner.run(async (tx) => {
   *   await tx.appendToStream('game-42', 'no_stream', [{ eventType: 'GameStarted', data: { word: 'crane' } }]);
   *   await tx.query('INSERT INTO outbox (topic, body) VALUES ($1, $2)', ['game-started', '{"game":42}']);
   *   return 42;
   * });
   */
  async run<T>(work: (tx: StoreTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.refuseNesting();
    if (typeof work !== 'function') {
      throw new InvalidArgumentError('store.transaction takes an async function (tx) => ...');
    }
    const deadline = this.database.executor.deadline(optionalInteger(options?.timeoutMs, 'timeoutMs', 1));
    const lockFirst = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(work, deadline, [...lockFirst]);
      } catch (error) {
        if (!(error instanceof AllOrderConflict)) {
          throw error instanceof WorkFailure ? error.failure : error;
        }
        if (attempt >= MAX_ORDER_ATTEMPTS) {
          throw this.outOfOrder(error, attempt);
        }
        this.logger.debug(`${error.message}: running the work again, locking ${error.streamIds.join(', ')} first`);
        error.streamIds.forEach((streamId) => lockFirst.add(streamId));
      }
    }
  }

  private async attempt<T>(work: (tx: StoreTransaction) => Promise<T>, deadline: number, lockFirst: string[]): Promise<T> {
    const committed = await this.database.executor.transaction(
      async (session) => {
        const tx = new SessionTransaction(session, this.parts);
        try {
          if (lockFirst.length > 0) {
            await tx.lockStreams(lockFirst);
          }
          const result = await this.current.run(tx, () => beforeDeadline(work, tx, deadline));
          await tx.finish();
          return { result, tx };
        } finally {
          tx.end();
        }
      },
      { idempotent: false, deadline, setup: this.searchPath },
    );
    this.afterCommit(committed.tx);
    return committed.result;
  }

  private afterCommit(tx: SessionTransaction): void {
    tx.appends.forEach(({ durationMs, events }) => this.observers.appended(durationMs, events));
    if (tx.touched.length > 0) {
      this.notifier.appended(tx.touched);
    }
  }

  private refuseNesting(): void {
    if (this.current.getStore()?.open === true) {
      throw new InvalidArgumentError(
        'store.transaction cannot be nested: inside a transaction, use its tx (tx.appendToStream, tx.query); a second transaction would be another connection, which could wait for the first forever',
      );
    }
  }

  private outOfOrder(error: AllOrderConflict, attempts: number): StoreUnavailableError {
    return new StoreUnavailableError(
      `The transaction's appends to ${error.streamIds.join(', ')} came before events committed there later, in $all, in each of ${attempts} runs: retry later, or append to those streams before the transaction's other writes`,
      error,
    );
  }
}

/**
 * The work's promise, or a `TIMEOUT` at the deadline: a work that never ends (waiting for something
 * outside the database) must not hold the connection and its locks forever. Its statements are
 * bounded by the deadline anyway; the transaction refuses any after it.
 */
async function beforeDeadline<T>(work: (tx: StoreTransaction) => Promise<T>, tx: SessionTransaction, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        tx.end();
        reject(new TimedOutWithoutEffect('The transaction ran past its deadline (timeoutMs) and was rolled back'));
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work(tx), expired]);
  } catch (error) {
    throw error instanceof TimedOutWithoutEffect || tx.raisedByStatement(error) ? error : new WorkFailure(error);
  } finally {
    clearTimeout(timer);
  }
}
