import { WebhookTargets } from './webhook-targets.js';

const allowed = (targets: WebhookTargets, url: string): boolean => {
  try {
    targets.assertAllowed(url);
    return true;
  } catch (error) {
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    return false;
  }
};

describe('WebhookTargets', () => {
  it('admits a prefix by whole path segments, on the exact scheme, host and port', () => {
    const targets = WebhookTargets.parse('https://hooks.example.com/game-bot, http://127.0.0.1:4000/', true);
    expect(allowed(targets, 'https://hooks.example.com/game-bot')).toBe(true);
    expect(allowed(targets, 'https://hooks.example.com/game-bot/scores?token=x')).toBe(true);
    expect(allowed(targets, 'http://127.0.0.1:4000/anything')).toBe(true);
    expect(allowed(targets, 'https://hooks.example.com/game-bot-evil')).toBe(false);
    expect(allowed(targets, 'https://hooks.example.com.evil.net/game-bot/x')).toBe(false);
    expect(allowed(targets, 'http://hooks.example.com/game-bot/x')).toBe(false);
    expect(allowed(targets, 'https://hooks.example.com:8443/game-bot/x')).toBe(false);
    expect(allowed(targets, 'http://127.0.0.1:4001/x')).toBe(false);
    expect(allowed(targets, 'https://hooks.example.com/other')).toBe(false);
  });

  it('refuses credentials in the URL, other schemes and what is not a URL, whatever the list', () => {
    const any = WebhookTargets.parse('*', true);
    expect(allowed(any, 'https://user:secret@hooks.example.com/x')).toBe(false);
    expect(allowed(any, 'ftp://hooks.example.com/x')).toBe(false);
    expect(allowed(any, 'hooks.example.com/x')).toBe(false);
    expect(allowed(any, 'https://anywhere.example.org/x')).toBe(true);
  });

  it('allows any target when unset outside production, none when unset in production', () => {
    expect(allowed(WebhookTargets.parse(undefined, false), 'https://anywhere.example.org/x')).toBe(true);
    expect(allowed(WebhookTargets.parse(undefined, true), 'https://anywhere.example.org/x')).toBe(false);
    expect(allowed(WebhookTargets.parse('', true), 'https://anywhere.example.org/x')).toBe(false);
  });

  it('refuses a list entry that is not an http(s) URL', () => {
    expect(() => WebhookTargets.parse('hooks.example.com', true)).toThrow(/WEBHOOK_ALLOWED_URLS must list http\(s\) URL prefixes/);
  });
});
