import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { classifyFailure } from './transient-failure.js';

/** How one operation may be retried. */
export interface ExecutionOptions {
  /**
   * `true` when running the work twice has the effect of running it once (reads; appends, whose
   * event ids make a re-send idempotent). Other work is retried only when it never reached the server.
   */
  idempotent: boolean;
  /** Deadline of the whole operation. Default: the store's `operationTimeoutMs`. */
  timeoutMs?: number;
}

/**
 * Runs work on a pooled connection, retrying transient failures with exponential backoff and
 * jitter within the operation's deadline, and turning database failures into the store's errors:
 * `STORE_UNAVAILABLE` once retries are spent, `TIMEOUT` past a deadline.
 */
export class DatabaseExecutor {
  private readonly logger = new Logger(DatabaseExecutor.name);

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: ResolvedEventStoreOptions,
  ) {}

  /** Runs one statement. */
  async query<R extends pg.QueryResultRow>(
    statement: pg.QueryConfig,
    execution: ExecutionOptions,
  ): Promise<R[]> {
    return this.run(async (client) => (await client.query<R>(statement)).rows, execution);
  }

  /** Runs `work` inside one transaction (READ COMMITTED), committing when it resolves. */
  async transaction<T>(work: (client: pg.PoolClient) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    return this.run(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }, execution);
  }

  /** Runs `work` on one pooled connection with the retry policy. */
  async run<T>(work: (client: pg.PoolClient) => Promise<T>, execution: ExecutionOptions): Promise<T> {
    const deadline = Date.now() + (execution.timeoutMs ?? this.options.operationTimeoutMs);
    for (let attempt = 1; ; attempt++) {
      let sent = false;
      try {
        const client = await this.pool.connect();
        sent = true;
        return await this.runOn(client, work);
      } catch (error) {
        const delay = this.retryDelay(error, attempt, sent && !execution.idempotent, deadline);
        this.logger.debug(`Attempt ${attempt} failed (${String(error)}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  private async runOn<T>(client: pg.PoolClient, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    // node-postgres also emits a dead connection's error on the client, where the pool listens only
    // while it is idle; the failing query rejects with the same error, which is handled below.
    const onError = (error: Error): void => this.logger.debug(`Connection lost while in use: ${error.message}`);
    client.on('error', onError);
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      // A connection that failed is discarded rather than handed to the next caller.
      client.release(classifyFailure(error) === 'connection' ? (error as Error) : undefined);
      throw error;
    } finally {
      client.removeListener('error', onError);
    }
  }

  /** The delay before the next attempt, or throws the error the caller should see. */
  private retryDelay(error: unknown, attempt: number, outcomeUnknown: boolean, deadline: number): number {
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
