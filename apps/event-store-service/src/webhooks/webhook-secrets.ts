import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const FORMAT = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CURRENT = 'WEBHOOK_SECRETS_KEY';
const PREVIOUS = 'WEBHOOK_SECRETS_PREVIOUS_KEYS';
const KEY_FORMAT = 'must be 32 bytes, as base64 (44 characters) or hex (64 characters): generate one with `openssl rand -base64 32`';

/** A stored webhook secret that no configured key decrypts; the message names the webhook and the fix. */
export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';

  constructor(
    webhook: string,
    /** What is wrong and what to do, without the webhook's name. */
    readonly reason: string,
  ) {
    super(`Webhook '${webhook}': ${reason}`);
  }
}

/**
 * The keys that encrypt webhook secrets at rest. Signing needs the secret itself (HMAC), so it is
 * stored encrypted rather than hashed: AES-256-GCM with a random 12-byte IV per secret, the
 * webhook's name as additional data (a value copied to another row does not decrypt there), as
 * `v1:<keyId>:<iv>:<tag>:<ciphertext>`, each part base64url. The key id is derived from the key,
 * so a value names the key it needs without revealing it.
 *
 * `WEBHOOK_SECRETS_KEY` encrypts and decrypts; `WEBHOOK_SECRETS_PREVIOUS_KEYS` (comma-separated)
 * only decrypt, so that values written under a key being retired still open until the service
 * re-encrypts them at boot.
 */
export class WebhookSecrets {
  // Private fields: the keys never show when the configuration is inspected or logged.
  readonly #current: { id: string; key: Buffer } | undefined;
  readonly #keys: ReadonlyMap<string, Buffer>;

  private constructor(current: Buffer | undefined, previous: Buffer[]) {
    this.#current = current === undefined ? undefined : { id: keyIdOf(current), key: current };
    this.#keys = new Map([...previous, ...(current === undefined ? [] : [current])].map((key) => [keyIdOf(key), key]));
  }

  /**
   * Parses `WEBHOOK_SECRETS_KEY` and `WEBHOOK_SECRETS_PREVIOUS_KEYS`; both unset means no key (no
   * webhook can be created or run). Throws one line naming the variable, never the value.
   */
  static parse(current: string | undefined, previous: string | undefined): WebhookSecrets {
    const previousKeys = (previous ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry, index) => parseKey(entry, `${PREVIOUS} entry ${index + 1}`));
    if (current === undefined && previousKeys.length > 0) {
      throw new Error(`${PREVIOUS} is set but ${CURRENT} is not: previous keys only decrypt; set ${CURRENT} to the key to encrypt with`);
    }
    return new WebhookSecrets(current === undefined ? undefined : parseKey(current, CURRENT), previousKeys);
  }

  /** Whether a key to encrypt with is configured. */
  get configured(): boolean {
    return this.#current !== undefined;
  }

  /** The id of `WEBHOOK_SECRETS_KEY` (a digest of it, safe to show), or `undefined` without a key. */
  get currentKeyId(): string | undefined {
    return this.#current?.id;
  }

  /** Encrypts webhook `name`'s secret with the current key. Throws without one. */
  encrypt(name: string, secret: string): string {
    if (this.#current === undefined) {
      throw new Error(`${CURRENT} is unset: webhook secrets cannot be encrypted`);
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(name));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [FORMAT, this.#current.id, iv, cipher.getAuthTag(), ciphertext].map(encodePart).join(':');
  }

  /** Whether `stored` is encrypted with the current key (else it is re-encrypted at boot). */
  isCurrent(stored: string): boolean {
    return this.#current !== undefined && stored.startsWith(`${FORMAT}:${this.#current.id}:`);
  }

  /** Webhook `name`'s secret; {@link WebhookSecretError} naming it when no configured key opens `stored`. */
  decrypt(name: string, stored: string): string {
    const [format, keyId, iv, tag, ciphertext, ...rest] = stored.split(':');
    if (format !== FORMAT || ciphertext === undefined || rest.length > 0) {
      throw new WebhookSecretError(name, `its stored secret is not in the ${FORMAT} format: delete the webhook and create it again`);
    }
    const key = this.#keys.get(keyId!);
    if (key === undefined) {
      throw new WebhookSecretError(
        name,
        `its secret is encrypted with key ${keyId}, which is neither ${CURRENT} (${this.describeCurrent()}) nor in ${PREVIOUS}: add that key to ${PREVIOUS}, or delete the webhook and create it again`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(name));
      decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new WebhookSecretError(
        name,
        `its secret does not decrypt with key ${keyId} (the stored value was altered): delete the webhook and create it again`,
      );
    }
  }

  private describeCurrent(): string {
    return this.#current === undefined ? 'unset' : `key ${this.#current.id}`;
  }
}

/** A key given as 64 hex characters or as base64 (standard or URL-safe) of 32 bytes. */
function parseKey(text: string, variable: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  if (key?.length !== KEY_BYTES) {
    throw new Error(`${variable} ${KEY_FORMAT}`);
  }
  return key;
}

/** 8 base64url characters that name a key: a keyed digest, so that they say nothing of the key. */
function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('webhook-secrets-key-id').digest().subarray(0, 6).toString('base64url');
}

function additionalData(name: string): Buffer {
  return Buffer.from(`webhook:${name}`, 'utf8');
}

function encodePart(part: string | Buffer): string {
  return typeof part === 'string' ? part : part.toString('base64url');
}
