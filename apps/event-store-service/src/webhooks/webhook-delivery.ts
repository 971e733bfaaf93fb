import { context, propagation, SpanKind, type Span } from '@opentelemetry/api';
import type { RecordedEvent } from '@game-bot/event-store';
import { traced } from '@game-bot/event-store/internal';
import { eventView } from '../http/event.view.js';
import type { WebhookWithSecret } from './webhook-definition.js';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature.js';

/** A webhook answered with something other than 2xx, or not at all. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
}

/**
 * POSTs one event to a webhook: body `{ subscription, event }`, signed with the subscription's
 * secret. Resolves on a 2xx answer; throws otherwise, so that the subscription retries it.
 * Redirects are not followed: a redirect could lead outside the allowed targets.
 */
export function deliverWebhook(webhook: WebhookWithSecret, event: RecordedEvent, timeoutMs: number, shutdown: AbortSignal): Promise<void> {
  const attributes = {
    'http.request.method': 'POST',
    'url.full': displayUrl(webhook.url),
    'event_store.subscription': webhook.name,
    'event_store.event_id': event.eventId,
  };
  // A child of the delivery's span: the receiver's `traceparent` continues the append's trace.
  return traced('POST', attributes, (span) => post(webhook, event, timeoutMs, shutdown, span), { kind: SpanKind.CLIENT });
}

async function post(webhook: WebhookWithSecret, event: RecordedEvent, timeoutMs: number, shutdown: AbortSignal, span: Span): Promise<void> {
  const body = JSON.stringify({ subscription: webhook.name, event: eventView(event) });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'game-bot-event-store-webhooks',
    [SIGNATURE_HEADER]: signWebhookBody(body, webhook.secret),
    'X-Event-Store-Subscription': webhook.name,
    'X-Event-Store-Event-Id': event.eventId,
  };
  propagation.inject(context.active(), headers);
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), shutdown]),
      headers,
    });
  } catch (error) {
    throw new WebhookDeliveryError(`POST ${displayUrl(webhook.url)} failed: ${describe(error)}`, { cause: error });
  }
  await response.body?.cancel();
  span.setAttribute('http.response.status_code', response.status);
  if (response.status < 200 || response.status > 299) {
    throw new WebhookDeliveryError(`POST ${displayUrl(webhook.url)} answered ${response.status}`);
  }
}

/** Why a POST failed, in words that never repeat the URL (its query may hold a secret). */
function describe(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  if (error instanceof Error && error.name === 'AbortError') return 'the service is shutting down';
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? code : 'the request could not be sent';
}

/** The URL without credentials or query (either may hold a secret): fit for logs and errors. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
