import { HttpStatus, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  EventStore,
  type FailedDelivery,
  type RecordedEvent,
  type Subscription,
  type SubscriptionOptions,
  EventStoreHealth,
} from '@game-bot/event-store';
import { ServiceError } from '../http/service-error.js';
import { deliverWebhook, displayUrl } from './webhook-delivery.js';
import type { WebhookDefinition, WebhookState } from './webhook-definition.js';
import { WebhookTargets } from './webhook-targets.js';
import { WebhooksRepository } from './webhooks.repository.js';

/** How the service runs webhooks. */
export interface WebhookSettings {
  targets: WebhookTargets;
  /** Deadline of one POST. */
  timeoutMs: number;
  /** How often each instance starts webhooks created elsewhere and stops deleted ones. */
  syncIntervalMs: number;
}

/** Injection token of the {@link WebhookSettings}. */
export const WEBHOOK_SETTINGS = Symbol('webhook-settings');

/** A new webhook, as the API takes it. */
export type NewWebhook = Omit<WebhookDefinition, 'secret' | 'createdAt'> & { secret?: string };

/** What the names of webhook subscriptions start with. */
export const WEBHOOK_PREFIX = 'webhook:';

/**
 * The store subscription behind a webhook. The prefix keeps webhooks apart from the library's
 * own subscriptions (and their group partitions, `name:0`...), whose names share one table.
 */
export const subscriptionOf = (name: string): string => `${WEBHOOK_PREFIX}${name}`;

interface Running {
  subscription: Subscription;
  /** The definition it runs: a webhook deleted and created again under its name is another one. */
  createdAt: number;
  halted: boolean;
}

/**
 * Webhook subscriptions: each is a persistent subscription of the store whose handler POSTs the
 * event to a URL, so it has the store's delivery guarantees (in order, at least once, one
 * instance at a time, retries, failed deliveries, dead letters, replay). Every instance of the
 * service subscribes to every webhook of the `webhooks` table; the lease makes one deliver.
 * Changes to what runs here (create, delete, sync, shutdown) happen one at a time.
 */
@Injectable()
export class Webhooks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Webhooks.name);
  private readonly running = new Map<string, Running>();
  private readonly shutdown = new AbortController();
  private timer?: NodeJS.Timeout;
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventStoreHealth) private readonly health: EventStoreHealth,
    @Inject(WebhooksRepository) private readonly repository: WebhooksRepository,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  /** Starts the stored webhooks, then keeps in step with the table. */
  async onApplicationBootstrap(): Promise<void> {
    await this.exclusively(() => this.sync());
    this.scheduleSync();
  }

  /** Stops the timer, the POSTs in flight and every webhook's subscription (each writes its checkpoint). */
  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.shutdown.abort();
    await this.exclusively(() => Promise.all([...this.running.keys()].map((name) => this.stop(name))));
  }

  /** Creates a webhook and starts it here; returns it with its secret (generated when not given). */
  async create(webhook: NewWebhook): Promise<WebhookDefinition> {
    this.settings.targets.assertAllowed(webhook.url);
    // `end` is resolved now, so that an event appended right after the answer is delivered.
    const startFrom = webhook.startFrom === 'end' ? await this.store.endOf(webhook.streamId) : webhook.startFrom;
    const definition: WebhookDefinition = {
      ...webhook,
      startFrom,
      secret: webhook.secret ?? randomBytes(32).toString('base64url'),
      createdAt: new Date(),
    };
    return this.exclusively(async () => {
      this.assertOpen();
      const stored = await this.repository.insert(definition);
      if (stored === undefined) {
        throw new ServiceError(
          HttpStatus.CONFLICT,
          'SUBSCRIPTION_EXISTS',
          `Subscription '${webhook.name}' exists: delete it first, or choose another name`,
          {
            name: webhook.name,
          },
        );
      }
      try {
        this.start(stored);
      } catch (error) {
        await this.repository.delete(stored.name); // refused by the store (e.g. a bad filter): leave nothing behind
        throw error;
      }
      this.logger.log(`Webhook '${stored.name}' created: ${stored.streamId} to ${displayUrl(stored.url)}`);
      return stored;
    });
  }

  /** Every webhook with its state. */
  async list(): Promise<Array<{ webhook: WebhookDefinition; state: WebhookState }>> {
    return this.withState(await this.repository.list());
  }

  /** One webhook with its state; `SUBSCRIPTION_NOT_FOUND` if none. */
  async get(name: string): Promise<{ webhook: WebhookDefinition; state: WebhookState }> {
    const [entry] = await this.withState([await this.find(name)]);
    return entry!;
  }

  /**
   * Deletes a webhook: stops it here, deletes its checkpoint and failures; an instance delivering
   * it elsewhere stops at its next lease renewal, others at their next sync.
   */
  async delete(name: string): Promise<void> {
    await this.exclusively(async () => {
      if (!(await this.repository.delete(name))) {
        throw notFound(name);
      }
      await this.stop(name);
      await this.store.deleteSubscription(subscriptionOf(name));
    });
    this.logger.log(`Webhook '${name}' deleted`);
  }

  /** Its failed deliveries (`failed`, `dead`, or both). */
  async failed(name: string, status?: 'failed' | 'dead'): Promise<FailedDelivery[]> {
    await this.find(name);
    return this.store.listFailedDeliveries(subscriptionOf(name), { status });
  }

  /** Makes its failed deliveries due now; returns how many. */
  async replay(name: string, status?: 'failed' | 'dead'): Promise<number> {
    await this.find(name);
    return this.store.replayFailedDeliveries(subscriptionOf(name), { status });
  }

  /**
   * Moves its checkpoint (0: deliver everything again), wherever it runs: the instance delivering
   * it loses its lease at its next renewal and resumes from the new checkpoint.
   */
  async reset(name: string, checkpoint: number): Promise<void> {
    await this.find(name);
    try {
      await this.store.resetSubscription(subscriptionOf(name), checkpoint, { whileRunning: true });
    } catch (error) {
      // The webhook exists and the position is valid, so the subscription has no row yet: created
      // a moment ago, it has not started anywhere.
      if ((error as { code?: string }).code !== 'INVALID_ARGUMENT') throw error;
      throw new ServiceError(HttpStatus.CONFLICT, 'SUBSCRIPTION_NOT_STARTED', `Webhook '${name}' has not started yet: retry in a moment`, {
        name,
      });
    }
  }

  private async find(name: string): Promise<WebhookDefinition> {
    const webhook = await this.repository.find(name);
    if (webhook === undefined) throw notFound(name);
    return webhook;
  }

  private async withState(webhooks: WebhookDefinition[]): Promise<Array<{ webhook: WebhookDefinition; state: WebhookState }>> {
    const names = webhooks.map((webhook) => subscriptionOf(webhook.name));
    const [leases, health] = await Promise.all([this.repository.leases(names), this.health.subscriptions()]);
    const numbers = new Map(health.map((entry) => [entry.name, entry]));
    return webhooks.map((webhook) => {
      const lease = leases.get(subscriptionOf(webhook.name));
      const counts = numbers.get(subscriptionOf(webhook.name));
      return {
        webhook,
        state: {
          checkpoint: Number(lease?.checkpoint ?? 0),
          owner: lease?.owner ?? null,
          leaseUntil: lease?.lease_until ?? null,
          lag: counts?.lag ?? 0,
          failed: counts?.failed ?? 0,
          dead: counts?.dead ?? 0,
        },
      };
    });
  }

  /** Runs `change` after every change before it: what runs here is changed by one caller at a time. */
  private exclusively<T>(change: () => Promise<T>): Promise<T> {
    const next = this.changes.then(change, change);
    this.changes = next.catch(() => undefined);
    return next;
  }

  private assertOpen(): void {
    if (this.shutdown.signal.aborted) {
      throw new ServiceError(HttpStatus.SERVICE_UNAVAILABLE, 'SHUTTING_DOWN', 'The service is shutting down: retry on another instance');
    }
  }

  /** Subscribes to a webhook's events. */
  private start(webhook: WebhookDefinition): void {
    // Re-checked at every start: a list narrowed since the webhook was created applies to it.
    this.settings.targets.assertAllowed(webhook.url);
    const handler = (event: RecordedEvent): Promise<void> => deliverWebhook(webhook, event, this.settings.timeoutMs, this.shutdown.signal);
    const options: SubscriptionOptions = {
      startFrom: webhook.startFrom,
      filter: webhook.streamId === '$all' ? webhook.filter : undefined,
      onFailure: webhook.onFailure,
      retry: webhook.retry,
      failedRetry: webhook.failedRetry,
    };
    const name = subscriptionOf(webhook.name);
    const subscription =
      webhook.streamId === '$all'
        ? this.store.subscribeToAll(name, handler, options)
        : this.store.subscribeToStream(webhook.streamId, name, handler, options);
    const entry: Running = { subscription, createdAt: webhook.createdAt.getTime(), halted: false };
    this.running.set(webhook.name, entry);
    subscription.stopped.then(
      () => (entry.halted = !this.shutdown.signal.aborted), // deleted elsewhere, or stopped here: the next sync decides
      (error: unknown) => {
        // `halt`: the next sync starts it again from its checkpoint, so the event is retried in order.
        entry.halted = true;
        this.logger.warn(`Webhook '${webhook.name}' stopped at a failing delivery, restarting at the next sync: ${String(error)}`);
      },
    );
  }

  /** Stops a webhook here; it counts as running until its subscription has stopped. */
  private async stop(name: string): Promise<void> {
    const entry = this.running.get(name);
    await entry?.subscription.unsubscribe();
    this.running.delete(name);
  }

  private scheduleSync(): void {
    if (this.shutdown.signal.aborted) return;
    this.timer = setTimeout(() => {
      void this.exclusively(() => this.sync())
        .catch((error: unknown) => this.logger.warn(`Could not sync webhooks: ${String(error)}`))
        .finally(() => this.scheduleSync());
    }, this.settings.syncIntervalMs);
  }

  /** Starts the webhooks this instance does not run (halted ones again), stops deleted or replaced ones. */
  private async sync(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    const webhooks = new Map((await this.repository.list()).map((webhook) => [webhook.name, webhook]));
    for (const [name, entry] of [...this.running]) {
      const current = webhooks.get(name);
      if (current === undefined || current.createdAt.getTime() !== entry.createdAt || entry.halted) await this.stop(name);
    }
    for (const webhook of webhooks.values()) {
      if (!this.running.has(webhook.name)) this.startLogged(webhook);
    }
  }

  private startLogged(webhook: WebhookDefinition): void {
    try {
      this.start(webhook);
    } catch (error) {
      this.logger.error(`Webhook '${webhook.name}' could not start: ${String(error)}`);
    }
  }
}

function notFound(name: string): ServiceError {
  return new ServiceError(HttpStatus.NOT_FOUND, 'SUBSCRIPTION_NOT_FOUND', `No webhook subscription named '${name}'`, { name });
}
