import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '../types/event-data.js';
import type { EventNotifier } from './event-notifier.js';
import type { EventSource } from './event-source.js';
import { LeaseLostError, type SubscriptionLease } from './subscription-lease.js';
import type { EventHandler, StartFrom, Subscription, SubscriptionOptions } from './subscription-options.js';

/** Options with their defaults applied. */
interface Settings {
  startFrom: StartFrom;
  batchSize: number;
  pollIntervalMs: number;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
}

/**
 * Runs a subscription: reads pages after its cursor and hands each event to the handler, in
 * order, one at a time. Catch-up and live are the same loop: when a read finds nothing new it
 * waits for a wake-up (a notification, or the poll interval) and reads again from the same cursor,
 * so the switch can neither skip nor repeat an event. Memory holds one page, whatever the backlog.
 */
export class SubscriptionRunner implements Subscription {
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly settings: Settings;
  private cursor = 0;
  private reachedEnd = false;
  private caughtUpWaiters: Array<() => void> = [];
  readonly stopped: Promise<void>;

  constructor(
    readonly name: string | undefined,
    private readonly source: EventSource,
    private readonly notifier: EventNotifier,
    private readonly handler: EventHandler,
    options: SubscriptionOptions,
    private readonly lease?: SubscriptionLease,
  ) {
    this.logger = new Logger(`Subscription(${name ?? source.streamId})`);
    this.settings = settingsOf(options);
    this.stopped = this.run();
    // A halted subscription reports through `stopped`; nobody awaiting it is not a crash.
    this.stopped.catch(() => undefined);
  }

  get streamId(): string {
    return this.source.streamId;
  }

  get position(): number {
    return this.cursor;
  }

  get caughtUp(): boolean {
    return this.reachedEnd;
  }

  waitUntilCaughtUp(): Promise<void> {
    if (this.reachedEnd) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.caughtUpWaiters.push(resolve);
      this.stopped.then(resolve, reject);
    });
  }

  async unsubscribe(): Promise<void> {
    this.abort.abort();
    await this.stopped.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    if (!this.lease) {
      this.cursor = await this.start();
      return this.deliverUntilStopped(signal);
    }
    while (!signal.aborted) {
      this.cursor = await this.lease.acquire(signal, () => this.start());
      if (signal.aborted) break;
      try {
        await this.deliverUntilStopped(signal);
      } catch (error) {
        if (!(error instanceof LeaseLostError)) {
          await this.lease.release(this.cursor);
          throw error;
        }
        this.logger.warn('Lost its lease to another process; standing by');
        this.reachedEnd = false;
        continue;
      }
      await this.lease.release(this.cursor);
    }
  }

  private async start(): Promise<number> {
    const { startFrom } = this.settings;
    if (startFrom === 'origin') return 0;
    if (startFrom === 'end') return this.source.end();
    return startFrom;
  }

  private async deliverUntilStopped(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.lease?.isLost) {
        throw new LeaseLostError(`Subscription ${this.name} lost its lease`);
      }
      const seen = this.notifier.current;
      const { events, next } = await this.source.read(this.cursor, this.settings.batchSize);
      for (const event of events) {
        if (signal.aborted) return;
        await this.deliver(event, signal);
        this.cursor = this.source.cursorOf(event);
        await this.lease?.handled(this.cursor);
      }
      const moved = next !== this.cursor;
      this.cursor = next;
      if (events.length === 0 && !moved) {
        this.markCaughtUp();
        await this.notifier.wait(seen, this.settings.pollIntervalMs, signal);
      }
    }
  }

  /** Calls the handler, retrying with exponential backoff and jitter; throws past the last attempt. */
  private async deliver(event: RecordedEvent, signal: AbortSignal): Promise<void> {
    const { maxAttempts, initialDelayMs, maxDelayMs } = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.handler(event);
        return;
      } catch (error) {
        if (attempt >= maxAttempts || signal.aborted) {
          this.logger.error(
            `Handler failed on event ${event.eventId} (${event.eventType}, ${event.streamId}@${event.streamVersion}) ${attempt} time(s); halting at it: ${String(error)}`,
          );
          throw error;
        }
        const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.logger.debug(`Handler failed on event ${event.eventId} (attempt ${attempt}); retrying in ${Math.round(delay)} ms`);
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private markCaughtUp(): void {
    this.reachedEnd = true;
    const waiters = this.caughtUpWaiters;
    this.caughtUpWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
}

function settingsOf(options: SubscriptionOptions): Settings {
  return {
    startFrom: options.startFrom ?? 'origin',
    batchSize: options.batchSize ?? 100,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    retry: {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      initialDelayMs: options.retry?.initialDelayMs ?? 100,
      maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
    },
  };
}
