import { createHmac } from 'node:crypto';

/** The request header carrying a webhook body's signature: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'X-Event-Store-Signature';

/** The signature of `body` with the subscription's secret, as the header carries it. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}
