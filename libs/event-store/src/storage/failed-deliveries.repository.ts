import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from './event-store-database.js';
import {
  deleteFailureSql,
  dueFailuresSql,
  listFailuresSql,
  recordFailureSql,
  replayFailuresSql,
  resetCheckpointSql,
  resetRunningCheckpointSql,
  type FailureRow,
} from './sql/subscription-failures.sql.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { FailedDelivery } from '../types/failed-delivery.js';

/** The failed-delivery rows of persistent subscriptions. */
@Injectable()
export class FailedDeliveriesRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** Records (or updates) a failure; `retryInMs` `null` dead-letters it. */
  async record(subscription: string, event: RecordedEvent, attempts: number, error: unknown, retryInMs: number | null): Promise<void> {
    const values = [
      subscription,
      event.eventId,
      event.globalPosition,
      event.streamId,
      event.streamVersion,
      attempts,
      describe(error),
      retryInMs === null ? 'dead' : 'failed',
      retryInMs,
    ];
    await this.query(recordFailureSql(this.s), values);
  }

  /** Failures due for a retry, oldest event first. */
  async due(subscription: string, limit: number): Promise<FailedDelivery[]> {
    return (await this.query<FailureRow>(dueFailuresSql(this.s), [subscription, limit])).map(toFailedDelivery);
  }

  /** Failures of a subscription, optionally of one status, oldest event first. */
  async list(subscription: string, status: 'failed' | 'dead' | null): Promise<FailedDelivery[]> {
    return (await this.query<FailureRow>(listFailuresSql(this.s), [subscription, status])).map(toFailedDelivery);
  }

  /** Forgets a failure (delivered at last, or its event is gone). */
  async resolve(subscription: string, eventId: string): Promise<void> {
    await this.query(deleteFailureSql(this.s), [subscription, eventId]);
  }

  /** Makes failures (of one status, or all) due now with their attempts restarted; returns how many. */
  async replay(subscription: string, status: 'failed' | 'dead' | null): Promise<number> {
    return this.database.executor.run(
      async (session) => (await session.query(replayFailuresSql(this.s), [subscription, status])).rowCount ?? 0,
      { idempotent: true },
    );
  }

  /**
   * Moves the checkpoint of a subscription that no process runs (or, `whileRunning`, of one that a
   * process may run: it loses its lease and resumes from there); `false` if refused or none exists.
   */
  async reset(subscription: string, checkpoint: number, whileRunning = false): Promise<boolean> {
    const sql = whileRunning ? resetRunningCheckpointSql(this.s) : resetCheckpointSql(this.s);
    return (await this.query(sql, [subscription, checkpoint])).length > 0;
  }

  private query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return this.database.executor.query<R & Record<string, unknown>>({ text, values }, { idempotent: true });
  }
}

function toFailedDelivery(row: FailureRow): FailedDelivery {
  return {
    subscription: row.subscription,
    eventId: row.event_id,
    globalPosition: Number(row.global_position),
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    attempts: row.attempts,
    lastError: row.last_error,
    status: row.status,
    nextAttemptAt: row.next_attempt_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 2_000);
}
