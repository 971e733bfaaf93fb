import { randomBytes } from 'node:crypto';
import { WebhookSecretError, WebhookSecrets } from './webhook-secrets.js';

const hexKey = (): string => randomBytes(32).toString('hex');

describe('WebhookSecrets', () => {
  it('encrypts each secret under its own IV, in the v1 format, and decrypts it for the same webhook only', () => {
    const secrets = WebhookSecrets.parse(hexKey(), undefined);
    const first = secrets.encrypt('scores', 'a-secret-of-our-own-choosing');
    const second = secrets.encrypt('scores', 'a-secret-of-our-own-choosing');
    expect(first).toMatch(/^v1:[\w-]{8}:[\w-]{16}:[\w-]{22}:[\w-]+$/);
    expect(first.startsWith(`v1:${secrets.currentKeyId}:`)).toBe(true);
    expect(first).not.toBe(second);
    expect(first).not.toContain('secret');
    expect(secrets.decrypt('scores', first)).toBe('a-secret-of-our-own-choosing');
    expect(() => secrets.decrypt('other', first)).toThrow(/Webhook 'other': its secret does not decrypt/);
  });

  it('refuses a value altered in any part, naming the webhook', () => {
    const secrets = WebhookSecrets.parse(hexKey(), undefined);
    const parts = secrets.encrypt('scores', 'a-secret-of-our-own-choosing').split(':');
    for (const index of [2, 3, 4]) {
      const altered = [...parts];
      altered[index] = `${altered[index]!.slice(0, -2)}${altered[index]!.endsWith('AA') ? 'BA' : 'AA'}`;
      expect(() => secrets.decrypt('scores', altered.join(':'))).toThrow(WebhookSecretError);
    }
    expect(() => secrets.decrypt('scores', 'a plain secret')).toThrow(/Webhook 'scores': its stored secret is not in the v1 format/);
  });

  it('decrypts with previous keys, encrypts with the current one only, and names the key a value needs', () => {
    const [old, current] = [hexKey(), randomBytes(32).toString('base64')];
    const before = WebhookSecrets.parse(old, undefined);
    const encrypted = before.encrypt('scores', 'a-secret-of-our-own-choosing');
    const rotated = WebhookSecrets.parse(current, ` ${old} `);
    expect(rotated.isCurrent(encrypted)).toBe(false);
    expect(rotated.decrypt('scores', encrypted)).toBe('a-secret-of-our-own-choosing');
    expect(rotated.isCurrent(rotated.encrypt('scores', 'x'))).toBe(true);
    const stranger = WebhookSecrets.parse(randomBytes(32).toString('base64url'), undefined);
    expect(() => stranger.decrypt('scores', encrypted)).toThrow(
      new RegExp(`Webhook 'scores': its secret is encrypted with key ${before.currentKeyId}, which is neither WEBHOOK_SECRETS_KEY`),
    );
  });

  it('takes 32 bytes as hex or base64 and refuses anything else without repeating it', () => {
    expect(WebhookSecrets.parse(undefined, undefined).configured).toBe(false);
    expect(WebhookSecrets.parse(randomBytes(32).toString('base64').replace(/=$/, ''), undefined).configured).toBe(true);
    for (const bad of ['too-short-key', randomBytes(16).toString('hex'), randomBytes(33).toString('base64'), `${hexKey()}0`]) {
      expect(() => WebhookSecrets.parse(bad, undefined)).toThrow(
        /^WEBHOOK_SECRETS_KEY must be 32 bytes, as base64 \(44 characters\) or hex/,
      );
      expect(() => WebhookSecrets.parse(bad, undefined)).not.toThrow(bad);
    }
    expect(() => WebhookSecrets.parse(hexKey(), `${hexKey()},nope`)).toThrow(/^WEBHOOK_SECRETS_PREVIOUS_KEYS entry 2 must be 32 bytes/);
    expect(() => WebhookSecrets.parse(undefined, hexKey())).toThrow(/WEBHOOK_SECRETS_PREVIOUS_KEYS is set but WEBHOOK_SECRETS_KEY is not/);
  });

  it('keeps its keys out of what inspecting or serialising the configuration shows', () => {
    const key = hexKey();
    const secrets = WebhookSecrets.parse(key, undefined);
    expect(JSON.stringify({ secrets })).not.toContain(key.slice(0, 16));
    expect(Object.keys(secrets)).toEqual([]);
  });
});
