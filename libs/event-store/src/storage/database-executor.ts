import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { cancelRunningStatement } from './cancel-request.js';
import { isDoubtful, OutcomeUnknown, PooledSession, TimedOutWithoutEffect, type DatabaseSession } from './pooled-session.js';
import { classifyFailure } from './transient-failure.js';

export type { DatabaseSession } from './pooled-session.js';

/** How one operation may be retried, and until when. */
export interface ExecutionOptions {
  /**
   * `true` when running the work twice has the effect of running it once (reads; appends, whose
   * event ids make a re-send idempotent). Other work is retried only when it never reached the server.
   */
  idempotent: boolean;
  /** Deadline of the whole operation, as a `Date.now()` time. Default: now + `operationTimeoutMs`. */
  deadline?: number;
  /**
   * `true` when the work changes nothing (reads). A statement still running at its limit is then
   * given up at once, without waiting for the server to confirm its cancellation: it cannot take
   * effect later, so `TIMEOUT` comes at the deadline even from a server that stopped answering.
   * Default `false`: a write's `TIMEOUT` waits until the server confirms that it ended without effect.
   */
  readOnly?: boolean;
}

/** Raised when the deadline passes while waiting for a pooled connection. */
class DeadlineExceeded extends Error {}

/**
 * Runs work on a pooled connection, retrying transient failures with exponential backoff and
 * jitter within the operation's deadline, and turning database failures into the store's errors:
 * `STORE_UNAVAILABLE` once retries are spent, when the pool stays exhausted, or when an outcome is
 * unknown; `TIMEOUT` past a deadline, and then only for work that did not and will not take effect.
 * A connection whose state is in doubt (lost, timed out on the client side, a failed ROLLBACK) is
 * destroyed, never reused.
 */
export class DatabaseExecutor {
  private readonly logger = new Logger(DatabaseExecutor.name);

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: ResolvedEventStoreOptions,
  ) {}

  /** The deadline of an operation given `timeoutMs` (default: the store's `operationTimeoutMs`). */
  deadline(timeoutMs?: number): number {
    return Date.now() + (timeoutMs ?? this.options.operationTimeoutMs);
  }

  /** Runs one statement. */
  async query<R extends pg.QueryResultRow>(statement: pg.QueryConfig, execution: ExecutionOptions): Promise<R[]> {
    return this.run(async (session) => (await session.query<R>(statement)).rows, execution);
  }

  /**
   * Runs `work` inside one transaction (READ COMMITTED), committing when it resolves. `setup` is
   * SQL text (no parameters) run right after `BEGIN`, in its round trip (see `PooledSession.begin`).
   */
  async transaction<T>(work: (session: DatabaseSession) => Promise<T>, execution: ExecutionOptions & { setup?: string }): Promise<T> {
    return this.attempt(async (session) => {
      await session.begin(execution.setup);
      try {
        const result = await work(session);
        await session.commit();
        return result;
      } catch (error) {
        await session.rollback();
        throw error;
      }
    }, execution);
  }

  /** Runs `work` on one pooled connection with the retry policy. */
  async run<T>(work: (session: DatabaseSession) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    return this.attempt(work, execution);
  }

  private async attempt<T>(work: (session: PooledSession) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    const deadline = execution.deadline ?? this.deadline();
    // An attempt that lost its connection mid-statement may still take effect: a later TIMEOUT
    // would then claim what nobody knows.
    let outcomeUnknown: unknown;
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      try {
        const client = await this.connect(deadline);
        sent = true;
        return await this.runOn(client, work, deadline, execution.readOnly === true);
      } catch (error) {
        outcomeUnknown ??= sent && !execution.readOnly && classifyFailure(error) === 'connection' ? error : undefined;
        const delay = this.nextDelay(error, attempt, sent && !execution.idempotent, deadline, outcomeUnknown);
        this.logger.debug(`Attempt ${attempt} failed (${String(error)}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  /**
   * A pooled connection, or `DeadlineExceeded` when none comes before the deadline. The pool itself
   * gives up after `connectionTimeoutMs` (its `connectionTimeoutMillis`, set from that option),
   * whichever comes first.
   */
  private async connect(deadline: number): Promise<pg.PoolClient> {
    const pending = this.pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceeded('no connection before the deadline')), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([pending, expired]);
    } catch (error) {
      // A connection that arrives after we gave up goes straight back.
      pending.then(
        (client) => client.release(),
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async runOn<T>(
    client: pg.PoolClient,
    work: (session: PooledSession) => Promise<T>,
    deadline: number,
    readOnly: boolean,
  ): Promise<T> {
    // node-postgres also emits a dead connection's error on the client, where the pool listens only
    // while it is idle; the failing query rejects with the same error, which is handled below.
    const onError = (error: Error): void => this.logger.debug(`Connection lost while in use: ${error.message}`);
    client.on('error', onError);
    const { statementTimeoutMs, connectionTimeoutMs } = this.options;
    // A server that does not answer a cancelled statement within the time it is given to accept a
    // connection counts as unreachable.
    const session = new PooledSession(
      client,
      { deadline, statementLimitMs: statementTimeoutMs + connectionTimeoutMs, cancelAnswerMs: connectionTimeoutMs, readOnly },
      this.options.pooler !== 'transaction',
    );
    try {
      const result = await work(session);
      client.release(session.doubtful);
      return result;
    } catch (error) {
      // A connection whose state is in doubt is discarded rather than handed to the next caller.
      if (session.doubtful || isDoubtful(error)) {
        // Cancel first: a pooler forwards a CancelRequest only while the client that sent the
        // statement is still connected to it (PostgreSQL itself takes it at any time).
        await this.cancelLost(client, session);
        client.release(true);
      } else {
        client.release();
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
    }
  }

  /**
   * A statement of a connection lost in use may still run on the server: a cancel request (no login,
   * no pool slot), waited for briefly so that the caller hears of its failure in time, makes that
   * less likely. Best effort: such an outcome stays unknown, and is reported so.
   */
  private async cancelLost(client: pg.PoolClient, session: PooledSession): Promise<void> {
    if (!session.cancelled) {
      await cancelRunningStatement(client);
    }
  }

  /** The delay before the next attempt, or throws the error the caller should see. */
  private nextDelay(error: unknown, attempt: number, outcomeUnknown: boolean, deadline: number, unknownAttempt: unknown): number {
    try {
      return this.retryDelay(error, attempt, outcomeUnknown, deadline);
    } catch (final) {
      if (final instanceof EventStoreTimeoutError && unknownAttempt !== undefined) {
        throw new StoreUnavailableError(
          `The operation ran past its deadline after an attempt lost its connection (${(unknownAttempt as Error).message}) while its statement ran, so whether it took effect is unknown: read before writing again (an append can be retried with the same event ids)`,
          final,
        );
      }
      throw final;
    }
  }

  private retryDelay(error: unknown, attempt: number, outcomeUnknown: boolean, deadline: number): number {
    this.throwIfFinal(error);
    const kind = classifyFailure(error);
    if (kind === 'timeout') {
      throw new EventStoreTimeoutError('The operation ran past its time limit: retry later, or raise the timeout', this.limits(), error);
    }
    if (kind === 'invalid-input') {
      throw new InvalidArgumentError(`The database refused the data: ${(error as Error).message}`, {}, error);
    }
    if (kind === 'other') {
      throw error;
    }
    if ((kind === 'connection' && outcomeUnknown) || attempt >= this.options.retry.maxAttempts) {
      throw new StoreUnavailableError(
        `The event store's database is unavailable (${(error as Error).message}) after ${attempt} attempt(s): check that PostgreSQL is running and reachable`,
        error,
      );
    }
    const { initialDelayMs, maxDelayMs } = this.options.retry;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    if (Date.now() + delay > deadline) {
      throw new EventStoreTimeoutError('The operation ran past its deadline while the database was unavailable', this.limits(), error);
    }
    return Math.round(delay);
  }

  /** Failures that are never retried: the pool, the deadline, an outcome nobody knows. */
  private throwIfFinal(error: unknown): void {
    if (error instanceof DeadlineExceeded) {
      throw new EventStoreTimeoutError(
        'No database connection before the deadline: every pooled connection was busy, or the server was slow to accept new ones',
        this.limits(),
        error,
      );
    }
    if (isCheckoutTimeout(error)) {
      throw this.poolExhausted(error);
    }
    if (error instanceof TimedOutWithoutEffect) {
      throw new EventStoreTimeoutError(`${error.message}: nothing was changed; retry later, or raise the timeout`, this.limits(), error);
    }
    if (error instanceof OutcomeUnknown) {
      throw new StoreUnavailableError(
        `${error.message}, so whether the operation took effect is unknown: check that PostgreSQL is responsive, and read before writing again (an append can be retried with the same event ids)`,
        error,
      );
    }
  }

  /**
   * The `details` of a `TIMEOUT`: the limits that were passed, so that a caller sees which one to
   * raise (`operationTimeoutMs` bounds the whole operation, retries included; `statementTimeoutMs`
   * each statement) without reading the server's configuration.
   */
  private limits(): Record<string, number> {
    const { operationTimeoutMs, statementTimeoutMs } = this.options;
    return { operationTimeoutMs, statementTimeoutMs };
  }

  /**
   * Every pooled connection stayed busy for `connectionTimeoutMs`. `STORE_UNAVAILABLE` rather than
   * `TIMEOUT`: nothing was sent, so the outcome is known (nothing happened) and a retry is safe, and
   * the store lacks capacity, much as when the server refuses connections (`53300`); `TIMEOUT` is
   * kept for an operation's own deadline, which comes first when it is shorter than the pool's wait.
   */
  private poolExhausted(error: unknown): StoreUnavailableError {
    const { poolSize, connectionTimeoutMs, applicationName } = this.options;
    return new StoreUnavailableError(
      `The connection pool is exhausted: its ${poolSize} connection(s) all stayed busy for ${connectionTimeoutMs} ms (connectionTimeoutMs). ` +
        `Raise poolSize (EVENT_STORE_POOL_SIZE in the service), or find what holds the connections ` +
        `(long transactions, statements waiting on locks: pg_stat_activity where application_name = '${applicationName}')`,
      error,
    );
  }
}

/** node-postgres's pool gave up waiting for a connection: every one stayed checked out (a busy pool). */
function isCheckoutTimeout(error: unknown): boolean {
  return (error as Error | undefined)?.message?.includes('timeout exceeded when trying to connect') === true;
}
