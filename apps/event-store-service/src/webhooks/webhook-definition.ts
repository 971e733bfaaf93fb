import type { AllFilter, StartFrom } from '@game-bot/event-store';

/** Handler retries of a webhook: attempts in all, first delay (doubled each time), delay cap. */
export interface WebhookRetry {
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * What a webhook subscription delivers, where to, and how it retries. Its secret is apart
 * ({@link WebhookWithSecret}, {@link StoredWebhook}), so that what the API shows never holds it.
 */
export interface WebhookDefinition {
  name: string;
  url: string;
  /** `$all` or one stream's id. */
  streamId: string;
  filter: Pick<AllFilter, 'eventTypes' | 'streamPrefix' | 'tags'>;
  /** Where it started, when it was created. */
  startFrom: StartFrom;
  /** `skip` (default): failed deliveries go to the retry worker, then the dead letters; `halt`: stop at the event, retry it in order. */
  onFailure: 'skip' | 'halt';
  /** In-line retries of one delivery. */
  retry: WebhookRetry;
  /** Scheduled retries of a failed delivery, before it is dead-lettered. */
  failedRetry: WebhookRetry;
  createdAt: Date;
}

/** A webhook with the secret that signs its requests (HMAC-SHA256): returned once, by the creation. */
export interface WebhookWithSecret extends WebhookDefinition {
  secret: string;
}

/**
 * A webhook's secret as the `webhooks` table holds it: encrypted (see `WebhookSecrets`), or in
 * plain text in a row written before secrets were encrypted, until the service encrypts it.
 */
export type StoredSecret = { kind: 'encrypted'; value: string } | { kind: 'plain'; value: string };

/** A webhook as the `webhooks` table holds it. */
export interface StoredWebhook extends WebhookDefinition {
  storedSecret: StoredSecret;
}

/** Where a webhook subscription stands: its checkpoint, who runs it, how far behind it is. */
export interface WebhookState {
  /** Global position (`$all`) or stream version of the last event delivered. */
  checkpoint: number;
  /** The instance holding its lease, if any. */
  owner: string | null;
  leaseUntil: Date | null;
  /** Events after the checkpoint (an upper bound when filtered). */
  lag: number;
  /** Failed deliveries waiting for a scheduled retry, and dead-lettered ones. */
  failed: number;
  dead: number;
}
