import type { AllFilter, StartFrom } from '@game-bot/event-store';

/** Handler retries of a webhook: attempts in all, first delay (doubled each time), delay cap. */
export interface WebhookRetry {
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** What a webhook subscription delivers, where to, and how it retries. */
export interface WebhookDefinition {
  name: string;
  url: string;
  /** Signs each request body (HMAC-SHA256). Never returned after creation. */
  secret: string;
  /** `$all` or one stream's id. */
  streamId: string;
  filter: Pick<AllFilter, 'eventTypes' | 'streamPrefix'>;
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
