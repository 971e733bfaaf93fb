import { HttpStatus, Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  EventStore,
  type FailedDelivery,
  type RecordedEvent,
  type Subscription,
  type SubscriptionOptions,
  EventStoreHealth,
  InvalidArgumentError,
} from '@game-bot/event-store';
import { ServiceError, shuttingDown } from '../http/service-error.js';
import { deliverWebhook, displayUrl } from './webhook-delivery.js';
import type { StoredWebhook, WebhookDefinition, WebhookState, WebhookWithSecret } from './webhook-definition.js';
import { WebhookSecretError, WebhookSecrets } from './webhook-secrets.js';
import { WebhookTargets } from './webhook-targets.js';
import { WebhooksRepository } from './webhooks.repository.js';

/** How the service runs webhooks. */
export interface WebhookSettings {
  targets: WebhookTargets;
  /** The keys of their secrets at rest (`WEBHOOK_SECRETS_KEY`, `WEBHOOK_SECRETS_PREVIOUS_KEYS`). */
  secrets: WebhookSecrets;
  /** Most webhooks in the store (`WEBHOOK_MAX_SUBSCRIPTIONS`): each one runs in every instance. */
  maxSubscriptions: number;
  /** Deadline of one POST. */
  timeoutMs: number;
  /** How often each instance starts webhooks created elsewhere and stops deleted ones. */
  syncIntervalMs: number;
}

/** Injection token of the {@link WebhookSettings}. */
export const WEBHOOK_SETTINGS = Symbol('webhook-settings');

/** A new webhook, as the API takes it. */
export type NewWebhook = Omit<WebhookDefinition, 'createdAt'> & { secret?: string };

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
  /** Why each webhook (by name, then creation time) could not start here, so that each sync does not log it again. */
  private readonly refusals = new Map<string, string>();
  private readonly shutdown = new AbortController();
  private timer?: NodeJS.Timeout;
  private changes: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventStoreHealth) private readonly health: EventStoreHealth,
    @Inject(WebhooksRepository) private readonly repository: WebhooksRepository,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  /** Brings the stored secrets under the current key, starts the stored webhooks, then keeps in step with the table. */
  async onApplicationBootstrap(): Promise<void> {
    await this.exclusively(async () => {
      await this.encryptStoredSecrets();
      await this.sync();
    });
    this.scheduleSync();
  }

  /** Stops the timer, the POSTs in flight and every webhook's subscription (each writes its checkpoint). */
  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.shutdown.abort();
    await this.exclusively(() => Promise.all([...this.running.keys()].map((name) => this.stop(name))));
  }

  /**
   * Creates a webhook and starts it here; returns it with its secret (generated when not given),
   * which is stored only encrypted. Refused without `WEBHOOK_SECRETS_KEY`, and once
   * `WEBHOOK_MAX_SUBSCRIPTIONS` webhooks exist.
   */
  async create(webhook: NewWebhook): Promise<WebhookWithSecret> {
    if (!this.settings.secrets.configured) throw secretsKeyUnset();
    this.settings.targets.assertAllowed(webhook.url);
    const { secret: given, ...rest } = webhook;
    // `end` is resolved now, so that an event appended right after the answer is delivered.
    const startFrom = webhook.startFrom === 'end' ? await this.store.endOf(webhook.streamId) : webhook.startFrom;
    const definition: WebhookDefinition = { ...rest, startFrom, createdAt: new Date() };
    const secret = given ?? randomBytes(32).toString('base64url');
    const encrypted = this.settings.secrets.encrypt(webhook.name, secret);
    return this.exclusively(async () => {
      this.assertOpen();
      const outcome = await this.repository.insert(definition, encrypted, this.settings.maxSubscriptions);
      if ('refused' in outcome) {
        throw outcome.refused === 'exists' ? exists(webhook.name) : tooMany(outcome.count, this.settings.maxSubscriptions);
      }
      const created: WebhookWithSecret = { ...outcome.stored, secret };
      try {
        this.start(created);
      } catch (error) {
        await this.repository.delete(created.name); // refused by the store (e.g. a bad filter): leave nothing behind
        throw error;
      }
      this.logger.log(`Webhook '${created.name}' created: ${created.streamId} to ${displayUrl(created.url)}`);
      return created;
    });
  }

  /** Every webhook with its state. */
  async list(): Promise<Array<{ webhook: StoredWebhook; state: WebhookState }>> {
    return this.withState(await this.repository.list());
  }

  /** One webhook with its state; `SUBSCRIPTION_NOT_FOUND` if none. */
  async get(name: string): Promise<{ webhook: StoredWebhook; state: WebhookState }> {
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

  private async find(name: string): Promise<StoredWebhook> {
    const webhook = await this.repository.find(name);
    if (webhook === undefined) throw notFound(name);
    return webhook;
  }

  private async withState(webhooks: StoredWebhook[]): Promise<Array<{ webhook: StoredWebhook; state: WebhookState }>> {
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
      throw shuttingDown();
    }
  }

  /**
   * At boot: encrypts the secrets stored in plain text (rows written before secrets were
   * encrypted) and re-encrypts those under a previous key with the current one. Each update is
   * guarded by the value it read, so instances booting at once change each row once and lose
   * nothing. Re-encryption happens at boot only: an instance still running with the previous key
   * as its current one (a rotation being rolled out) would otherwise encrypt them back. Without a
   * key, stored webhooks stop the boot: they could not be run, and plain-text ones not encrypted.
   */
  private async encryptStoredSecrets(): Promise<void> {
    const webhooks = await this.repository.list();
    if (!this.settings.secrets.configured) {
      if (webhooks.length > 0) throw new Error(keyUnsetAtBoot(webhooks));
      return;
    }
    let encrypted = 0;
    for (const webhook of webhooks) {
      if (await this.encryptWithCurrentKey(webhook)) encrypted += 1;
    }
    if (encrypted > 0) {
      this.logger.log(`Encrypted the secrets of ${encrypted} webhook(s) with key ${this.settings.secrets.currentKeyId}`);
    }
  }

  /** Encrypts a stored secret with the current key unless it is already; `true` when this instance did. */
  private async encryptWithCurrentKey(webhook: StoredWebhook): Promise<boolean> {
    const stored = webhook.storedSecret;
    if (stored.kind === 'encrypted' && this.settings.secrets.isCurrent(stored.value)) return false;
    try {
      const secret = stored.kind === 'plain' ? stored.value : this.settings.secrets.decrypt(webhook.name, stored.value);
      return await this.repository.replaceSecret(webhook.name, stored, this.settings.secrets.encrypt(webhook.name, secret));
    } catch (error) {
      if (!(error instanceof WebhookSecretError)) throw error;
      return false; // left as it is (the right key may yet be configured); the sync that follows reports it
    }
  }

  /**
   * The secret that signs a stored webhook's requests. One in plain text (written meanwhile by an
   * instance of a version that stored them so) is encrypted on the way.
   */
  private async secretOf(webhook: StoredWebhook): Promise<string> {
    const stored = webhook.storedSecret;
    if (stored.kind === 'encrypted') return this.settings.secrets.decrypt(webhook.name, stored.value);
    if (!this.settings.secrets.configured) {
      throw new WebhookSecretError(
        webhook.name,
        'its secret is stored in plain text and WEBHOOK_SECRETS_KEY is unset: set it to encrypt it',
      );
    }
    await this.repository.replaceSecret(webhook.name, stored, this.settings.secrets.encrypt(webhook.name, stored.value));
    return stored.value;
  }

  /** Subscribes to a webhook's events. */
  private start(webhook: WebhookWithSecret): void {
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
    for (const name of this.refusals.keys()) {
      if (!webhooks.has(name)) this.refusals.delete(name);
    }
    for (const webhook of webhooks.values()) {
      if (!this.running.has(webhook.name)) await this.startLogged(webhook);
    }
  }

  private async startLogged(webhook: StoredWebhook): Promise<void> {
    try {
      this.start({ ...webhook, secret: await this.secretOf(webhook) });
      this.refusals.delete(webhook.name);
    } catch (error) {
      this.refuse(webhook, error instanceof WebhookSecretError ? error.reason : String(error));
    }
  }

  /** Logs why a webhook cannot start here, once for each reason (the sync tries again at every interval). */
  private refuse(webhook: WebhookDefinition, reason: string): void {
    const key = `${webhook.createdAt.getTime()} ${reason}`;
    if (this.refusals.get(webhook.name) === key) return;
    this.refusals.set(webhook.name, key);
    this.logger.error(`Webhook '${webhook.name}' could not start: ${reason}`);
  }
}

function exists(name: string): ServiceError {
  return new ServiceError(
    HttpStatus.CONFLICT,
    'SUBSCRIPTION_EXISTS',
    `Subscription '${name}' exists: delete it first, or choose another name`,
    { name },
  );
}

function tooMany(count: number, max: number): InvalidArgumentError {
  return new InvalidArgumentError(
    `There are ${count} webhook subscriptions and WEBHOOK_MAX_SUBSCRIPTIONS allows ${max} (each one runs in every instance): delete one, or raise WEBHOOK_MAX_SUBSCRIPTIONS on every instance`,
    { count, max },
  );
}

function secretsKeyUnset(): ServiceError {
  return new ServiceError(
    HttpStatus.SERVICE_UNAVAILABLE,
    'WEBHOOKS_NOT_CONFIGURED',
    'Webhook subscriptions are off on this instance: WEBHOOK_SECRETS_KEY, which encrypts their secrets, is unset; set it (32 random bytes, base64 or hex: `openssl rand -base64 32`) on every instance and restart',
    { variable: 'WEBHOOK_SECRETS_KEY' },
  );
}

/** The boot's one line when webhooks are stored and no key is configured. */
function keyUnsetAtBoot(webhooks: StoredWebhook[]): string {
  const names = webhooks.slice(0, 3).map((webhook) => `'${webhook.name}'`);
  const listed = webhooks.length > 3 ? `${names.join(', ')}, …` : names.join(', ');
  const key = webhooks.some((webhook) => webhook.storedSecret.kind === 'encrypted')
    ? 'the key their secrets are encrypted with'
    : 'a new key (32 random bytes, base64 or hex: `openssl rand -base64 32`), which their plain-text secrets are then encrypted with';
  return `WEBHOOK_SECRETS_KEY is unset and ${webhooks.length} webhook subscription(s) are stored (${listed}): set it to ${key}`;
}

function notFound(name: string): ServiceError {
  return new ServiceError(HttpStatus.NOT_FOUND, 'SUBSCRIPTION_NOT_FOUND', `No webhook subscription named '${name}'`, { name });
}
