import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { sendCancelRequest } from './cancel-request.js';
import { classifyFailure } from './transient-failure.js';

/** How long a cancel request may delay the error of the operation it cancels. */
const CANCEL_WAIT_MS = 250;

/** How one operation may be retried, and until when. */
export interface ExecutionOptions {
  /**
   * `true` when running the work twice has the effect of running it once (reads; appends, whose
   * event ids make a re-send idempotent). Other work is retried only when it never reached the server.
   */
  idempotent: boolean;
  /** Deadline of the whole operation, as a `Date.now()` time. Default: now + `operationTimeoutMs`. */
  deadline?: number;
}

/**
 * One pooled connection as work sees it: every statement is bounded by the time left before the
 * operation's deadline (and by the statement timeout).
 */
export interface DatabaseSession {
  query<R extends pg.QueryResultRow>(statement: pg.QueryConfig | string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Marks the connection as not to be reused (its transaction state is unknown). */
  discard(): void;
  /** Whether the connection is in doubt (lost, timed out, discarded). */
  readonly doubtful: boolean;
}

/** Raised when the deadline passes while waiting for a pooled connection. */
class DeadlineExceeded extends Error {}

/**
 * Runs work on a pooled connection, retrying transient failures with exponential backoff and
 * jitter within the operation's deadline, and turning database failures into the store's errors:
 * `STORE_UNAVAILABLE` once retries are spent, `TIMEOUT` past a deadline. A connection whose state
 * is in doubt (lost, timed out on the client side, a failed ROLLBACK) is destroyed, never reused.
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

  /** Runs `work` inside one transaction (READ COMMITTED), committing when it resolves. */
  async transaction<T>(work: (session: DatabaseSession) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    return this.run(async (session) => {
      try {
        await session.query('BEGIN');
        const result = await work(session);
        await session.query('COMMIT');
        return result;
      } catch (error) {
        // A connection in doubt may still run the failed statement: ROLLBACK would only queue
        // behind it. Discarding the connection ends the transaction on the server.
        if (!session.doubtful) {
          await session.query('ROLLBACK').catch(() => session.discard());
        }
        throw error;
      }
    }, execution);
  }

  /** Runs `work` on one pooled connection with the retry policy. */
  async run<T>(work: (session: DatabaseSession) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    const deadline = execution.deadline ?? this.deadline();
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      try {
        const client = await this.connect(deadline);
        sent = true;
        return await this.runOn(client, work, deadline);
      } catch (error) {
        if (!sent && isCheckoutTimeout(error) && Date.now() < deadline) {
          attempt--; // the pool was busy: wait on, within the deadline, without spending an attempt
          continue;
        }
        const delay = this.retryDelay(error, attempt, sent && !execution.idempotent, deadline);
        this.logger.debug(`Attempt ${attempt} failed (${String(error)}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  /** A pooled connection, or `DeadlineExceeded` when none comes before the deadline. */
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

  private async runOn<T>(client: pg.PoolClient, work: (session: DatabaseSession) => Promise<T>, deadline: number): Promise<T> {
    // node-postgres also emits a dead connection's error on the client, where the pool listens only
    // while it is idle; the failing query rejects with the same error, which is handled below.
    const onError = (error: Error): void => this.logger.debug(`Connection lost while in use: ${error.message}`);
    client.on('error', onError);
    let doubtful = false;
    const session: DatabaseSession = {
      query: async <R extends pg.QueryResultRow>(statement: pg.QueryConfig | string, values?: unknown[]) => {
        try {
          return await client.query<R>(this.bounded(statement, values, deadline));
        } catch (error) {
          doubtful ||= isDoubtful(error);
          throw error;
        }
      },
      discard: () => {
        doubtful = true;
      },
      get doubtful() {
        return doubtful;
      },
    };
    try {
      const result = await work(session);
      client.release();
      return result;
    } catch (error) {
      // A connection whose state is in doubt is discarded rather than handed to the next caller,
      // and a statement it may still be running is cancelled, so that a timed-out operation does
      // not take effect later.
      if (doubtful || isDoubtful(error)) {
        client.release(error as Error);
        await this.cancelBackend(client);
      } else {
        client.release();
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
    }
  }

  /**
   * Cancels whatever the server still runs for a connection given up on: a protocol cancel request
   * (no login, no pool slot), waited for briefly so that the caller hears of its deadline in time.
   */
  private async cancelBackend(client: pg.PoolClient): Promise<void> {
    const { host, port } = client as unknown as { host: string; port: number };
    await sendCancelRequest({ host, port }, client as unknown as { processID?: number; secretKey?: number }, CANCEL_WAIT_MS);
  }

  /** The statement with a client-side time limit: the time left, at most the statement timeout's. */
  private bounded(statement: pg.QueryConfig | string, values: unknown[] | undefined, deadline: number): pg.QueryConfig {
    const config: pg.QueryConfig = typeof statement === 'string' ? { text: statement, values } : statement;
    const limit = this.options.statementTimeoutMs + this.options.connectionTimeoutMs;
    const remaining = Math.max(1, Math.min(limit, deadline - Date.now()));
    return { ...config, query_timeout: remaining } as pg.QueryConfig;
  }

  /** The delay before the next attempt, or throws the error the caller should see. */
  private retryDelay(error: unknown, attempt: number, outcomeUnknown: boolean, deadline: number): number {
    if (error instanceof DeadlineExceeded || isCheckoutTimeout(error)) {
      throw new EventStoreTimeoutError(
        'No database connection before the deadline: every pooled connection was busy, or the server was slow to accept new ones',
        {},
        error,
      );
    }
    const kind = classifyFailure(error);
    if (kind === 'timeout') {
      throw new EventStoreTimeoutError('The operation ran past its time limit: retry later, or raise the timeout', {}, error);
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
      throw new EventStoreTimeoutError('The operation ran past its deadline while the database was unavailable', {}, error);
    }
    return Math.round(delay);
  }
}

/** node-postgres's pool gave up waiting for a connection (busy pool, or a slow server to connect to). */
function isCheckoutTimeout(error: unknown): boolean {
  return (error as Error | undefined)?.message?.includes('timeout exceeded when trying to connect') === true;
}

/**
 * Whether a failure leaves the connection in an unknown state: lost, or timed out on the client
 * side (node-postgres then still waits for the statement's answer, and a transaction may be open).
 */
function isDoubtful(error: unknown): boolean {
  const kind = classifyFailure(error);
  return kind === 'connection' || (kind === 'timeout' && (error as { code?: string }).code !== '57014');
}
