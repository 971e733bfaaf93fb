import { HttpStatus, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  EventStore,
  type FailedDelivery,
  type Subscription,
  type SubscriptionOptions,
} from '../../../../libs/event-store/src/index.js';
import { ServiceError } from '../http/service-error.js';
import { outsideRequest } from '../logging/request-context.js';
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

/**
 * Webhook subscriptions: each is a persistent subscription of the store whose handler POSTs the
 * event to a URL, so it has the store's delivery guarantees (in order, at least once, one
 * instance at a time, retries, failed deliveries, dead letters, replay). Every instance of the
 * service subscribes to every webhook of the `webhooks` table; the lease makes one deliver.
 */
@Injectable()
export class Webhooks implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(Webhooks.name);
  private readonly running = new Map<string, { subscription: Subscription; halted: boolean }>();
  private timer?: NodeJS.Timeout;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(WebhooksRepository) private readonly repository: WebhooksRepository,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  /** Starts the stored webhooks, then keeps in step with the table. */
  async onApplicationBootstrap(): Promise<void> {
    await this.sync();
    this.scheduleSync();
  }

  /** Stops the timer and every webhook's subscription (each writes its checkpoint). */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.syncing;
    await Promise.all([...this.running.keys()].map((name) => this.stop(name)));
  }

  /** Creates a webhook and starts it here; returns it with its secret (generated when not given). */
  async create(webhook: NewWebhook): Promise<WebhookDefinition> {
    this.settings.targets.assertAllowed(webhook.url);
    const definition: WebhookDefinition = { ...webhook, secret: webhook.secret ?? randomBytes(32).toString('base64url'), createdAt: new Date() };
    if (!(await this.repository.insert(definition))) {
      throw new ServiceError(HttpStatus.CONFLICT, 'SUBSCRIPTION_EXISTS', `Subscription '${webhook.name}' exists: delete it first, or choose another name`, {
        name: webhook.name,
      });
    }
    try {
      outsideRequest(() => this.start(definition));
    } catch (error) {
      await this.repository.delete(definition.name); // refused by the store (e.g. a bad filter): leave nothing behind
      throw error;
    }
    this.logger.log(`Webhook '${definition.name}' created: ${definition.streamId} to ${displayUrl(definition.url)}`);
    return definition;
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

  /** Deletes a webhook: stops it here (other instances within a sync interval) and deletes its checkpoint and failures. */
  async delete(name: string): Promise<void> {
    if (!(await this.repository.delete(name))) {
      throw notFound(name);
    }
    await this.stop(name);
    await this.store.deleteSubscription(name);
    this.logger.log(`Webhook '${name}' deleted`);
  }

  /** Its failed deliveries (`failed`, `dead`, or both). */
  async failed(name: string, status?: 'failed' | 'dead'): Promise<FailedDelivery[]> {
    await this.find(name);
    return this.store.listFailedDeliveries(name, { status });
  }

  /** Makes its failed deliveries due now; returns how many. */
  async replay(name: string, status?: 'failed' | 'dead'): Promise<number> {
    await this.find(name);
    return this.store.replayFailedDeliveries(name, { status });
  }

  /**
   * Moves its checkpoint (0: deliver everything again). The subscription must not run elsewhere
   * meanwhile: it is stopped here, reset, and started again.
   */
  async reset(name: string, checkpoint: number): Promise<void> {
    const webhook = await this.find(name);
    await this.stop(name);
    try {
      await this.store.resetSubscription(name, checkpoint);
    } finally {
      outsideRequest(() => this.start(webhook));
    }
  }

  private async find(name: string): Promise<WebhookDefinition> {
    const webhook = await this.repository.find(name);
    if (webhook === undefined) throw notFound(name);
    return webhook;
  }

  private async withState(webhooks: WebhookDefinition[]): Promise<Array<{ webhook: WebhookDefinition; state: WebhookState }>> {
    const [leases, health] = await Promise.all([this.repository.leases(webhooks.map((webhook) => webhook.name)), this.store.health().subscriptions()]);
    const numbers = new Map(health.map((entry) => [entry.name, entry]));
    return webhooks.map((webhook) => {
      const lease = leases.get(webhook.name);
      const counts = numbers.get(webhook.name);
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

  private start(webhook: WebhookDefinition): void {
    const handler = (event: Parameters<typeof deliverWebhook>[1]) => deliverWebhook(webhook, event, this.settings.timeoutMs);
    const options: SubscriptionOptions = {
      startFrom: webhook.startFrom,
      filter: webhook.streamId === '$all' && (webhook.filter.eventTypes || webhook.filter.streamPrefix !== undefined) ? webhook.filter : undefined,
      onFailure: webhook.onFailure,
      retry: webhook.retry,
      failedRetry: webhook.failedRetry,
    };
    const subscription =
      webhook.streamId === '$all'
        ? this.store.subscribeToAll(webhook.name, handler, options)
        : this.store.subscribeToStream(webhook.streamId, webhook.name, handler, options);
    const entry = { subscription, halted: false };
    this.running.set(webhook.name, entry);
    subscription.stopped.catch((error: unknown) => {
      // `halt`: the next sync starts it again from its checkpoint, so the event is retried in order.
      entry.halted = true;
      this.logger.warn(`Webhook '${webhook.name}' stopped at a failing delivery, restarting at the next sync: ${String(error)}`);
    });
  }

  private async stop(name: string): Promise<void> {
    const entry = this.running.get(name);
    this.running.delete(name);
    await entry?.subscription.unsubscribe();
  }

  private scheduleSync(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.syncing = this.sync()
        .catch((error: unknown) => this.logger.warn(`Could not sync webhooks: ${String(error)}`))
        .finally(() => this.scheduleSync());
    }, this.settings.syncIntervalMs);
  }

  /** Starts the webhooks this instance does not run yet (and halted ones again), stops deleted ones. */
  private async sync(): Promise<void> {
    const webhooks = await this.repository.list();
    const names = new Set(webhooks.map((webhook) => webhook.name));
    for (const name of [...this.running.keys()]) {
      if (!names.has(name) || this.running.get(name)!.halted) await this.stop(name);
    }
    for (const webhook of webhooks) {
      if (!this.running.has(webhook.name) && !this.closed) this.startLogged(webhook);
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
