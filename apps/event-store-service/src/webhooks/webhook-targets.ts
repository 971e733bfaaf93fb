import { InvalidArgumentError } from '@game-bot/event-store';

/**
 * The URLs webhooks may target (`WEBHOOK_ALLOWED_URLS`): each entry is a URL prefix whose scheme,
 * host and port must match a target's exactly and whose path the target's must start with, so that
 * `https://hooks.example.com` never admits `https://hooks.example.com.evil.net`.
 */
export class WebhookTargets {
  private constructor(private readonly allowed: URL[] | 'any') {}

  /** Parses the comma-separated list; unset allows any target except in production, which allows none. */
  static parse(text: string | undefined, production: boolean): WebhookTargets {
    const entries = (text ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.includes('*') || (entries.length === 0 && !production)) {
      return new WebhookTargets('any');
    }
    return new WebhookTargets(entries.map(parsePrefix));
  }

  /** Throws `INVALID_ARGUMENT` unless `url` is an http(s) URL the list allows. */
  assertAllowed(url: string): void {
    const target = parseHttpUrl(url, 'url');
    if (this.allowed === 'any' || this.allowed.some((prefix) => admits(prefix, target))) {
      return;
    }
    const allowed = this.allowed.map((prefix) => prefix.href).join(', ') || 'none';
    throw new InvalidArgumentError(`Webhook URL '${target.origin}${target.pathname}' is not allowed (WEBHOOK_ALLOWED_URLS: ${allowed})`, {
      url: `${target.origin}${target.pathname}`,
    });
  }
}

function parsePrefix(entry: string): URL {
  try {
    return parseHttpUrl(entry, 'WEBHOOK_ALLOWED_URLS');
  } catch (error) {
    throw new Error(`WEBHOOK_ALLOWED_URLS must list http(s) URL prefixes or *: ${(error as Error).message}`, { cause: error });
  }
}

/** Same origin, and the prefix's path is the target's or a whole-segment ancestor of it (`/hooks` admits `/hooks/x`, not `/hooks-evil`). */
function admits(prefix: URL, target: URL): boolean {
  if (prefix.origin !== target.origin) return false;
  const base = prefix.pathname.endsWith('/') ? prefix.pathname : `${prefix.pathname}/`;
  return target.pathname === prefix.pathname || target.pathname.startsWith(base);
}

function parseHttpUrl(text: string, name: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`${name} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`${name} must be an http or https URL, got '${url.protocol}'`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      `${name} must not carry credentials (user:password@): put a token in the query, or rely on the signature`,
    );
  }
  return url;
}
