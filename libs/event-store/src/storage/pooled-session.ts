import { Logger } from '@nestjs/common';
import type pg from 'pg';
import { cancelRunningStatement } from './cancel-request.js';
import { classifyFailure } from './transient-failure.js';

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

/** The time limits a session applies to its statements. */
export interface SessionLimits {
  /** Deadline of the operation, as a `Date.now()` time. */
  deadline: number;
  /** Client-side limit of one statement when the deadline is further away. */
  statementLimitMs: number;
  /** How long the server may take to answer a statement cancelled at its limit. */
  cancelAnswerMs: number;
  /** The work changes nothing (see `ExecutionOptions.readOnly`). */
  readOnly: boolean;
}

/** Work stopped at its time limit without taking effect: nothing sent, cancelled, or left uncommitted. */
export class TimedOutWithoutEffect extends Error {}

/** A statement cancelled at its time limit whose end the server never confirmed: it may still take effect. */
export class OutcomeUnknown extends Error {}

/**
 * Whether a statement's effect stands once it returns (on its own, or a `COMMIT`), or only if a
 * later `COMMIT` makes it stand (inside a transaction).
 */
type Effect = 'final' | 'provisional';

/**
 * A session on one pooled connection. A statement still running at its limit is cancelled, and the
 * session then waits for the statement's own answer, because only that answer tells what happened:
 * `57014` means it ended without effect, a result means it took effect first (a race), and that
 * result is returned rather than reported as a timeout. So an operation reported as `TIMEOUT` never
 * takes effect later. The alternative, `pg_terminate_backend` from another connection and polling
 * `pg_stat_activity` until the backend is gone, was not chosen: it proves the backend ended but not
 * whether its statement committed just before, it needs a second connection when the pool may be
 * exhausted (or a new login) and the right to signal the backend, and it costs the connection every
 * time; a CancelRequest needs no login, passes through PgBouncer, and a cancelled connection stays
 * usable. A server that does not answer within `cancelAnswerMs` leaves the outcome unknown, and says
 * so ({@link OutcomeUnknown}), never `TIMEOUT`.
 */
export class PooledSession implements DatabaseSession {
  private readonly logger = new Logger(PooledSession.name);
  private inTransaction = false;
  private inDoubt = false;
  private cancelSent = false;

  /**
   * @param namedStatements whether statements given a name are prepared under it, to be reused on
   * this connection. Behind a pooler in transaction mode the next statement may run on another
   * server session, where that name is unknown or another client's, so they are sent unnamed.
   */
  constructor(
    private readonly client: pg.PoolClient,
    private readonly limits: SessionLimits,
    private readonly namedStatements = true,
  ) {}

  get doubtful(): boolean {
    return this.inDoubt;
  }

  /** Whether a CancelRequest went out for one of this session's statements. */
  get cancelled(): boolean {
    return this.cancelSent;
  }

  discard(): void {
    this.inDoubt = true;
  }

  async query<R extends pg.QueryResultRow>(statement: pg.QueryConfig | string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const config: pg.QueryConfig = typeof statement === 'string' ? { text: statement, values } : statement;
    return this.execute<R>(this.namedStatements ? config : unnamed(config), this.inTransaction ? 'provisional' : 'final');
  }

  /**
   * Opens the transaction: statements until `commit` take effect only through it. `setup` (SQL
   * text without parameters, e.g. a `SET LOCAL`) is sent with the `BEGIN`, in the same round trip.
   */
  async begin(setup?: string): Promise<void> {
    await this.execute({ text: setup === undefined ? 'BEGIN' : `BEGIN; ${setup}` }, 'provisional');
    this.inTransaction = true;
  }

  /** Commits: a COMMIT that ends after its limit still took effect, and is reported so. */
  async commit(): Promise<void> {
    await this.execute({ text: 'COMMIT' }, 'final');
    this.inTransaction = false;
  }

  /**
   * Ends a failed transaction, past the deadline too (it only undoes work). A connection in doubt may
   * still run the failed statement, where ROLLBACK would only queue behind it: discarding such a
   * connection ends the transaction on the server, as does discarding one whose ROLLBACK fails.
   */
  async rollback(): Promise<void> {
    if (!this.inDoubt) {
      await this.client
        .query({ text: 'ROLLBACK', query_timeout: this.limits.cancelAnswerMs } as pg.QueryConfig)
        .catch(() => this.discard());
    }
    this.inTransaction = false;
  }

  private async execute<R extends pg.QueryResultRow>(config: pg.QueryConfig, effect: Effect): Promise<pg.QueryResult<R>> {
    const limit = Math.min(this.limits.statementLimitMs, this.limits.deadline - Date.now());
    if (limit <= 0) {
      throw new TimedOutWithoutEffect('The operation reached its deadline before its next statement was sent');
    }
    if (this.limits.readOnly) {
      // Work that changes nothing cannot take effect later: it is given up at its limit unconfirmed
      // (node-postgres's read timeout; the executor then discards the connection and cancels).
      return this.client.query<R>({ ...config, query_timeout: limit } as pg.QueryConfig).catch((error: unknown) => {
        throw this.failure(error);
      });
    }
    return this.confirmed<R>(config, effect, limit);
  }

  /** Runs a statement that is cancelled at `limit`, answering only once the server says how it ended. */
  private async confirmed<R extends pg.QueryResultRow>(config: pg.QueryConfig, effect: Effect, limit: number): Promise<pg.QueryResult<R>> {
    let cancelled = false;
    const timer = setTimeout(() => {
      cancelled = true;
      void this.cancel();
    }, limit);
    try {
      // node-postgres's own read timeout is only the backstop for a server that never answers.
      const result = await this.client.query<R>({ ...config, query_timeout: limit + this.limits.cancelAnswerMs } as pg.QueryConfig);
      return cancelled ? this.lateResult(result, effect) : result;
    } catch (error) {
      throw cancelled ? this.cancelledFailure(error, effect) : this.failure(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private async cancel(): Promise<void> {
    this.cancelSent = true;
    if (!(await cancelRunningStatement(this.client))) {
      this.logger.debug('Could not send the cancel request of a statement past its limit; waiting for its answer anyway');
    }
  }

  /** The statement finished before the cancel reached it: done, unless a COMMIT was still to come. */
  private lateResult<R extends pg.QueryResultRow>(result: pg.QueryResult<R>, effect: Effect): pg.QueryResult<R> {
    // The cancel may still be on its way and would hit this connection's next statement.
    this.discard();
    if (effect === 'final') {
      return result;
    }
    // Discarding the connection ends its transaction uncommitted.
    throw new TimedOutWithoutEffect('A statement of the transaction ran past its time limit; the transaction was abandoned');
  }

  /** What a statement cancelled at its limit answered, as the error its caller should see. */
  private cancelledFailure(error: unknown, effect: Effect): unknown {
    if (isCancelConfirmed(error)) {
      return error; // ended without effect, and the cancel was spent on it: the connection is fine
    }
    this.discard();
    if (effect === 'provisional' || !mayStillRun(error)) {
      return error; // ended with an error of its own, or can only take effect through a COMMIT never sent
    }
    return new OutcomeUnknown(
      `PostgreSQL did not answer within ${this.limits.cancelAnswerMs} ms after a statement past its time limit was cancelled`,
      { cause: error },
    );
  }

  private failure(error: unknown): unknown {
    this.inDoubt ||= isDoubtful(error);
    return error;
  }
}

/** The statement without its name: parsed and planned anew each time, on whichever session runs it. */
function unnamed(config: pg.QueryConfig): pg.QueryConfig {
  if (config.name === undefined) {
    return config;
  }
  const { name: _name, ...rest } = config;
  return rest;
}

/** The statement's answer is its cancellation by a CancelRequest (not, e.g., by `statement_timeout`). */
function isCancelConfirmed(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code === '57014' && message?.includes('user request') === true;
}

/**
 * No answer from the server (node-postgres's read timeout, a lost connection), as opposed to an
 * error the server sent (which has a severity): the statement may still run.
 */
function mayStillRun(error: unknown): boolean {
  return typeof (error as { severity?: unknown } | undefined)?.severity !== 'string';
}

/**
 * Whether a failure leaves the connection in an unknown state: lost, or timed out on the client
 * side (node-postgres then still waits for the statement's answer, and a transaction may be open).
 */
export function isDoubtful(error: unknown): boolean {
  const kind = classifyFailure(error);
  return kind === 'connection' || (kind === 'timeout' && (error as { code?: string }).code !== '57014');
}
