import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { clientConfig } from '../storage/postgres-connection.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';

/** How long appends in one process are gathered into one NOTIFY. */
const NOTIFY_COALESCE_MS = 5;

/**
 * Wakes subscribers when events are appended. Appends in this process wake local subscribers at
 * once; other processes learn through PostgreSQL `LISTEN/NOTIFY`. The NOTIFY is sent after the
 * append, outside its transaction, at most once per few milliseconds: a NOTIFY inside the append
 * would make every committing append take PostgreSQL's global notification lock.
 *
 * A notification is only a hint: subscribers also poll, so a notification missed while the
 * listening connection was down (it reconnects with backoff) delays an event, never loses it.
 */
@Injectable()
export class EventNotifier {
  private readonly logger = new Logger(EventNotifier.name);
  private readonly channel: string;
  private waiters = new Set<() => void>();
  private generation = 0;
  private listener?: pg.Client;
  /** The connection being opened, so that `close` can end it too. */
  private connecting?: pg.Client;
  private notifyPending = false;
  private closed = false;
  private listening?: Promise<void>;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.channel = `event_store_${database.options.schema}`;
  }

  /** Whether the listening connection is up. */
  get connected(): boolean {
    return this.listener !== undefined;
  }

  /** Whether listening was started (by a first subscription). */
  get started(): boolean {
    return this.listening !== undefined;
  }

  /** A counter that moves on every wake-up: wait with the value read before looking for events. */
  get current(): number {
    return this.generation;
  }

  /** Starts listening (once); later calls return the same promise. */
  start(): Promise<void> {
    this.listening ??= this.listenLoop();
    return Promise.resolve();
  }

  /** Called after an append of this process committed. */
  appended(): void {
    this.wake();
    if (this.notifyPending || this.closed) {
      return;
    }
    this.notifyPending = true;
    setTimeout(() => void this.sendNotify(), NOTIFY_COALESCE_MS).unref();
  }

  /**
   * Resolves at the next wake-up after `seen` (at once if there was one since), or after
   * `timeoutMs`, or when `signal` aborts.
   */
  async wait(seen: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.generation !== seen || signal.aborted) {
      return;
    }
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    const onAbort = (): void => wake();
    signal.addEventListener('abort', onAbort, { once: true });
    const poll = new AbortController();
    try {
      await Promise.race([woken, sleep(timeoutMs, undefined, { ref: false, signal: poll.signal }).catch(() => undefined)]);
    } finally {
      poll.abort(); // no poll timer outlives an early wake-up
      this.waiters.delete(wake);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    const listeners = [this.listener, this.connecting];
    this.listener = undefined;
    this.wake();
    await Promise.all(listeners.map((client) => client?.end().catch(() => undefined)));
  }

  private wake(): void {
    this.generation++;
    const waiters = this.waiters;
    this.waiters = new Set();
    waiters.forEach((wake) => wake());
  }

  private async sendNotify(): Promise<void> {
    this.notifyPending = false;
    try {
      await this.database.pool.query('SELECT pg_notify($1, $2)', [this.channel, '']);
    } catch (error) {
      // Other processes then find the events by polling.
      this.logger.debug(`NOTIFY failed: ${String(error)}`);
    }
  }

  private async listenLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        // The backoff restarts once a connection listens, not when it ends: a connection lost
        // (an error, as a restart or a terminated backend is) after it worked is a new blip, not
        // the next failure of a streak that would soon wait 5 s on every blip.
        await this.listenOnce(() => (attempt = 0));
      } catch (error) {
        if (!this.closed) {
          this.logger.warn(`Event notifications interrupted (${String(error)}); reconnecting, polling meanwhile`);
        }
      }
      this.listener = undefined;
      // Events appended while the listener was down are found by the readers' next look.
      this.wake();
      await sleep(Math.min(5_000, 100 * 2 ** attempt++), undefined, { ref: false });
    }
  }

  /** One listening connection: calls `listening` once it listens; resolves or rejects when it ends. */
  private async listenOnce(listening: () => void): Promise<void> {
    const { options, connection } = this.database;
    const client = new pg.Client(clientConfig(connection, { ...options, applicationName: `${options.applicationName}-listener` }));
    const ended = new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('end', () => resolve());
    });
    // Awaited only once listening; a connection lost before that rejects both it and the step
    // that was running, which is the one reported.
    ended.catch(() => undefined);
    this.connecting = client;
    try {
      await client.connect();
      client.on('notification', () => this.wake());
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    } finally {
      this.connecting = undefined;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    listening();
    this.wake();
    await ended;
  }
}
