import { Inject, Injectable } from '@nestjs/common';
import type { NotificationsMode } from '../configuration/event-store-options.interface.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { oldestTransactionSql, subscriptionLagSql } from '../storage/sql/health.sql.js';
import { EventNotifier } from '../subscriptions/event-notifier.js';

/** How one persistent subscription is doing. */
export interface SubscriptionHealth {
  name: string;
  /** Events after its checkpoint (an upper bound for filtered subscriptions). */
  lag: number;
  failed: number;
  dead: number;
}

/** Connections of the store's pool. */
export interface PoolUsage {
  /** Connections open. */
  total: number;
  /** Open and idle. */
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/** The numbers behind the store's health checks and metrics. */
@Injectable()
export class EventStoreHealth {
  /** @internal Made by Nest's injector; not part of the public API. */
  constructor(
    @Inject(EventStoreDatabase) private readonly database: EventStoreDatabase,
    @Inject(EventNotifier) private readonly notifier: EventNotifier,
  ) {}

  /** Round trip of `SELECT 1`, in milliseconds; throws past `timeoutMs`. */
  async ping(timeoutMs: number): Promise<number> {
    const started = Date.now();
    await this.database.executor.query({ text: 'SELECT 1' }, { idempotent: true, readOnly: true, deadline: Date.now() + timeoutMs });
    return Date.now() - started;
  }

  /** Names of the store's migrations not applied yet. */
  async pendingMigrations(): Promise<string[]> {
    return (await this.database.migrations().status()).pending;
  }

  /**
   * Whether the notification listener is connected; `undefined` while no subscription needs it,
   * and with `notifications: 'poll'`, where there is none.
   */
  listener(): boolean | undefined {
    return this.notifier.started && this.notifier.mode === 'listen' ? this.notifier.connected : undefined;
  }

  /** How subscriptions learn of other processes' events: `listen` or `poll` (see `EventStoreModuleOptions.notifications`). */
  notifications(): NotificationsMode {
    return this.notifier.mode;
  }

  /**
   * Seconds the oldest open transaction on the server has been holding `$all` readers back; throws
   * past `timeoutMs` (default: the store's `operationTimeoutMs`).
   */
  async visibilityLagSeconds(timeoutMs?: number): Promise<number> {
    const [row] = await this.database.executor.query<{ seconds: number }>(
      { text: oldestTransactionSql },
      { idempotent: true, readOnly: true, deadline: this.database.executor.deadline(timeoutMs) },
    );
    return Math.round((row?.seconds ?? 0) * 10) / 10;
  }

  /**
   * Lag and failures of every persistent subscription; throws past `timeoutMs` (default: the
   * store's `operationTimeoutMs`), the statement cancelled on the server (it waits on any lock on
   * the events table).
   */
  async subscriptions(timeoutMs?: number): Promise<SubscriptionHealth[]> {
    return this.database.executor.query<SubscriptionHealth & Record<string, unknown>>(
      { text: subscriptionLagSql(this.database.schema) },
      { idempotent: true, readOnly: true, deadline: this.database.executor.deadline(timeoutMs) },
    );
  }

  /** Connections of the store's pool: in all, idle, and callers waiting for one. */
  poolUsage(): PoolUsage {
    const { totalCount, idleCount, waitingCount } = this.database.pool;
    return { total: totalCount, idle: idleCount, waiting: waitingCount };
  }
}
