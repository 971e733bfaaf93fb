import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { NotificationsMode } from '../configuration/event-store-options.interface.js';
import { clientConfig } from '../storage/postgres-connection.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { TOUCHED_SCAN_LIMIT, touchedSinceSql, type TouchedSinceRow } from '../storage/sql/notification-poll.sql.js';
import { decodeHint, encodeHint, mergeHints, senderOf, type Touched, type WakeFilter, type WakeHint } from './wake-hints.js';

/** Where a look for new events stood: `$all`'s horizon, the newest position, and its snapshot. */
interface LookMarks {
  xmin: string;
  newest: string;
  snapshot: string;
}

/** How long appends in one process are gathered into one NOTIFY. */
const NOTIFY_COALESCE_MS = 5;

/** How many wake-ups are remembered, for subscribers that read while one came. */
const RECENT_WAKES = 256;

/** How often the shared look for new events runs when no subscriber asks for less. */
const DEFAULT_LOOK_MS = 1_000;

/**
 * Wakes subscribers when events are appended. Appends in this process wake local subscribers at
 * once; other processes learn through PostgreSQL `LISTEN/NOTIFY`. The NOTIFY is sent after the
 * append, outside its transaction, at most once per few milliseconds: a NOTIFY inside the append
 * would make every committing append take PostgreSQL's global notification lock.
 *
 * A notification is only a hint: a look for new events also runs every poll interval, so a
 * notification missed while the listening connection was down (it reconnects with backoff), or an
 * event that `$all` readers see only once an earlier transaction has ended, is delayed, never lost.
 *
 * Wake-ups say what was written (streams and event types: {@link WakeHint}), and a subscriber is
 * woken only by those that concern it: a process running a thousand subscriptions, most of them
 * idle, reads for the few an append concerns, not for all of them. The look for new events is one
 * query per process, whatever the number of subscribers, and names what it found the same way.
 *
 * With `notifications: 'poll'` (behind a pooler in transaction mode, where a LISTEN would stay on
 * a server session that other clients get next) nothing is sent or listened to: the process looks
 * where the events end every `notificationPollIntervalMs`, one small query for all of its
 * subscriptions, and wakes them when that moved.
 */
@Injectable()
export class EventNotifier {
  private readonly logger = new Logger(EventNotifier.name);
  private readonly channel: string;
  private waiters = new Map<() => void, { concerns?: WakeFilter; lookEveryMs: number }>();
  /** The waiters of one stream each (also in `waiters`), found by the streams a wake-up names. */
  private readonly byStream = new Map<string, Set<() => void>>();
  /** The other waiters (also in `waiters`): each is asked whether a wake-up concerns it. */
  private readonly unindexed = new Map<() => void, WakeFilter | undefined>();
  /** This process's tag in its NOTIFY payloads: its own come back to its listener, already had. */
  private readonly sender = randomBytes(6).toString('hex');
  private generation = 0;
  /** The latest wake-ups (generation and hint), oldest first. */
  private readonly recent: Array<{ generation: number; hint: WakeHint }> = [];
  private pendingHint: WakeHint = [];
  private listener?: pg.Client;
  /** The connection being opened, so that `close` can end it too. */
  private connecting?: pg.Client;
  private notifyPending = false;
  private closed = false;
  private listening?: Promise<void>;
  /** Ends the poll loop's sleep at `close`. */
  private readonly stopPolling = new AbortController();

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.channel = `event_store_${database.options.schema}`;
  }

  /** `listen` (LISTEN/NOTIFY) or `poll`, as configured. */
  get mode(): NotificationsMode {
    return this.database.options.notifications;
  }

  /** Whether the listening connection is up (never, in `poll` mode). */
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

  /**
   * Starts listening (unless `poll` mode) and the shared look for new events, once, for the first
   * subscription; later calls do nothing more.
   */
  start(): Promise<void> {
    this.listening ??= Promise.all([this.mode === 'poll' ? undefined : this.listenLoop(), this.pollLoop()]).then(() => undefined);
    return Promise.resolve();
  }

  /** Called after an append of this process committed: what it wrote, if known. */
  appended(hint?: WakeHint): void {
    this.wake(hint);
    if (this.closed || this.mode === 'poll') {
      return;
    }
    this.pendingHint = mergeHints(this.pendingHint, hint);
    if (this.notifyPending) {
      return;
    }
    this.notifyPending = true;
    setTimeout(() => void this.sendNotify(), NOTIFY_COALESCE_MS).unref();
  }

  /**
   * Resolves at the next wake-up after `seen` that `concerns` the caller (at once if one came
   * since), or when one of `signals` aborts. Without `concerns`, every wake-up does, and the wait also ends
   * after `lookEveryMs`; with it, the shared look for new events (run at least every `lookEveryMs`)
   * takes the place of a look of the caller's own.
   */
  async wait(seen: number, lookEveryMs: number, signals: AbortSignal | readonly AbortSignal[], concerns?: WakeFilter): Promise<void> {
    const all = Array.isArray(signals) ? signals : [signals as AbortSignal];
    if (all.some((signal) => signal.aborted) || this.cameSince(seen, concerns)) {
      return;
    }
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.set(wake, { concerns, lookEveryMs });
    const stream = concerns?.streamId;
    if (stream !== undefined) {
      const set = this.byStream.get(stream) ?? new Set();
      this.byStream.set(stream, set.add(wake));
    } else {
      this.unindexed.set(wake, concerns);
    }
    // Listeners added and removed per wait (AbortSignal.any would leave one on each long-lived signal).
    const onAbort = (): void => wake();
    for (const signal of all) signal.addEventListener('abort', onAbort, { once: true });
    const poll = new AbortController();
    try {
      const timeout = concerns ? [] : [sleep(lookEveryMs, undefined, { ref: false, signal: poll.signal }).catch(() => undefined)];
      await Promise.race([woken, ...timeout]);
    } finally {
      poll.abort(); // no poll timer outlives an early wake-up
      this.forget(wake, stream);
      for (const signal of all) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Whether a wake-up that concerns the caller came after `seen` (yes, if it is too long ago to tell). */
  private cameSince(seen: number, concerns: WakeFilter | undefined): boolean {
    if (this.generation === seen) return false;
    if (concerns === undefined) return true;
    const missed = this.recent.filter((wake) => wake.generation > seen);
    if (missed.length < this.generation - seen) return true;
    return missed.some(({ hint }) => hint === undefined || concerns(hint));
  }

  /** Stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling.abort();
    const listeners = [this.listener, this.connecting];
    this.listener = undefined;
    this.wake();
    await Promise.all(listeners.map((client) => client?.end().catch(() => undefined)));
  }

  private wake(hint?: WakeHint): void {
    this.generation++;
    this.recent.push({ generation: this.generation, hint });
    if (this.recent.length > RECENT_WAKES) this.recent.shift();
    if (hint === undefined) {
      for (const wake of this.waiters.keys()) wake();
      return;
    }
    // Stream waiters by the streams named; the others asked one by one.
    for (const { streamId } of hint) {
      for (const wake of this.byStream.get(streamId) ?? []) wake();
    }
    for (const [wake, concerns] of this.unindexed) {
      if (concerns === undefined || concerns(hint)) wake();
    }
  }

  private forget(wake: () => void, stream: string | undefined): void {
    this.waiters.delete(wake);
    this.unindexed.delete(wake);
    if (stream === undefined) return;
    const set = this.byStream.get(stream);
    set?.delete(wake);
    if (set?.size === 0) this.byStream.delete(stream);
  }

  private async sendNotify(): Promise<void> {
    this.notifyPending = false;
    const payload = encodeHint(this.pendingHint, this.sender);
    this.pendingHint = [];
    try {
      await this.database.pool.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
    } catch (error) {
      // Other processes then find the events by polling.
      this.logger.debug(`NOTIFY failed: ${String(error)}`);
    }
  }

  /**
   * Looks for new events every poll interval (`notificationPollIntervalMs` in `poll` mode; the
   * shortest poll interval of the subscribers waiting otherwise), and wakes the subscribers that
   * what it found concerns. The first look only marks where the events stand, and wakes everyone.
   */
  private async pollLoop(): Promise<void> {
    let marks: LookMarks | undefined;
    while (!this.closed) {
      const look = await this.lookForEvents(marks);
      if (look !== undefined) {
        // The first look knows nothing of what came before it: everyone looks.
        if (marks === undefined) this.wake();
        else if (look.hint === undefined || look.hint.length > 0) this.wake(look.hint);
        marks = look.marks;
      }
      await sleep(this.lookEveryMs(), undefined, { ref: false, signal: this.stopPolling.signal }).catch(() => undefined);
    }
  }

  private lookEveryMs(): number {
    if (this.mode === 'poll') return this.database.options.notificationPollIntervalMs;
    let every = DEFAULT_LOOK_MS;
    for (const { lookEveryMs } of this.waiters.values()) every = Math.min(every, lookEveryMs);
    return Math.max(10, every);
  }

  /** One look: where the events stand now, and what was written since `marks`; `undefined` when it failed. */
  private async lookForEvents(marks: LookMarks | undefined): Promise<{ marks: LookMarks; hint: WakeHint } | undefined> {
    try {
      const { database } = this;
      const [row] = await database.executor.query<TouchedSinceRow & Record<string, unknown>>(
        { text: touchedSinceSql(database.schema), values: [marks?.xmin ?? null, marks?.newest ?? '0', marks?.snapshot ?? null] },
        // A look that cannot be answered soon is not worth retrying: the next one comes anyway.
        { idempotent: true, readOnly: true, deadline: database.executor.deadline(database.options.connectionTimeoutMs) },
      );
      const found = row!;
      const hint: WakeHint =
        found.scanned >= TOUCHED_SCAN_LIMIT
          ? undefined
          : (found.touched ?? []).map(([streamId, eventType]): Touched => ({ streamId, eventType }));
      return { marks: { xmin: found.xmin, newest: found.newest ?? '0', snapshot: found.snapshot }, hint };
    } catch (error) {
      // The subscribers' own reads meet the same outage and wait it out; the next look comes anyway.
      this.logger.debug(`Looking for new events failed: ${String(error)}`);
      return undefined;
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
      client.on('notification', (message) => {
        if (senderOf(message.payload) !== this.sender) this.wake(decodeHint(message.payload));
      });
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
