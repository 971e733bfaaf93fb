import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { eventually } from '../helpers/eventually.js';
import { listeningUrl } from '../helpers/sse-client.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const READ = 'read-token-for-the-console-test';
const ADMIN = 'admin-token-for-the-console-test';
/** Where the screenshots of docs/admin.md are written when ADMIN_SCREENSHOTS=1. */
const SHOTS = process.env.ADMIN_SCREENSHOTS === '1' ? 'docs/admin' : undefined;

describe('the admin console in Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let receiver: WebhookReceiver;
  const errors: string[] = [];

  const api = (method: 'get' | 'post', path: string, token = ADMIN) =>
    request(t.http)[method](path).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp(
      {
        EVENT_STORE_TOKENS: `${READ}:read,${ADMIN}:admin`,
        WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`,
        WEBHOOK_SYNC_INTERVAL_MS: '200',
        PUBLIC_HEALTH_AND_METRICS: 'false',
      },
      'console',
    );
    base = await listeningUrl(t.http);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
    const events = [1, 2, 3].map((n) => ({ eventType: 'GuessMade', data: { player: `p${n}`, word: 'crane' }, tags: [`player:p${n}`] }));
    expect((await api('post', '/streams/game-1/events').send({ expectedVersion: 'no_stream', events })).status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
    await t.close();
    await receiver.close();
  });
  afterEach(() => {
    // No console errors and no CSP violations in any page of any test.
    expect(errors).toEqual([]);
    errors.length = 0;
  });

  async function open(width = 1280): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().includes('the server responded with a status of')) errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${base}/admin/`);
    return page;
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.getByLabel('Access token').fill(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Streams' }).waitFor();
  }

  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  };

  it('is served with a Content-Security-Policy that forbids inline scripts, and the page has none', async () => {
    const answer = await request(t.http).get('/admin/');
    expect(answer.status).toBe(200);
    const csp = String(answer.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(answer.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(answer.text).not.toMatch(/\son[a-z]+=/i);
    expect((await request(t.http).get('/admin')).text).toBe(answer.text);
    for (const path of ['/admin/admin.js', '/admin/admin.css', '/admin/no-such-file.js', '/admin/..%2fsrc%2fmain.ts']) {
      const other = await request(t.http).get(path);
      expect({ path, csp: other.headers['content-security-policy'], nosniff: other.headers['x-content-type-options'] }).toEqual({
        path,
        csp,
        nosniff: 'nosniff',
      });
      if (path.includes('no-such') || path.includes('..')) expect([403, 404]).toContain(other.status);
    }
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
  });

  it('signs in with a read token, browses to a stream and an event, offers no actions, and a forged admin call is refused', async () => {
    const page = await open();
    await signIn(page, READ);
    expect(await page.evaluate('location.href')).not.toContain(READ);
    expect(await page.evaluate("sessionStorage.getItem('eventStoreToken')")).toBe(READ);
    await page.getByLabel('Stream id prefix').fill('game-');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'game-1' }).click();
    await page.getByRole('heading', { name: 'Stream game-1' }).waitFor();
    await shot(page, 'stream');
    const rows = page.getByRole('table', { name: 'Events of game-1' }).locator('tbody tr');
    expect(await rows.count()).toBe(3);
    await rows.nth(1).getByRole('link', { name: 'GuessMade' }).click();
    await page.getByRole('heading', { name: /^Event / }).waitFor();
    expect(await page.locator('pre.json').first().textContent()).toContain('"player": "p2"');
    await shot(page, 'event');

    await create('seen-by-reader', 200);
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByRole('link', { name: 'seen-by-reader' }).click();
    await page.getByRole('heading', { name: 'Subscription seen-by-reader' }).waitFor();
    expect(
      await page
        .getByRole('button')
        .filter({ hasText: /Replay|Reset|Delete/ })
        .count(),
    ).toBe(0);

    const forged = await page.evaluate(async (token) => {
      const answer = await fetch('/subscriptions/seen-by-reader/failed/replay', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      return { status: answer.status, body: await answer.json() };
    }, READ);
    expect(forged).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    await page.close();
  });

  it('refuses a wrong token at sign-in', async () => {
    const page = await open();
    await page.getByLabel('Access token').fill('not-a-token-of-this-service');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('UNAUTHORIZED');
    await page.close();
  });

  it('shows a new event in the live tail', async () => {
    const page = await open();
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Live tail' }).click();
    await page.waitForFunction("document.getElementById('main')?.dataset.live === 'open'");
    const id = randomUUID();
    const event = { eventId: id, eventType: 'WordClaimed', data: { word: 'slate' } };
    expect((await api('post', '/streams/tail-1/events').send({ expectedVersion: 'any', events: [event] })).status).toBe(201);
    await page.getByRole('table', { name: 'Live events' }).getByRole('link', { name: 'tail-1' }).waitFor();
    await shot(page, 'tail');
    await page.close();
  });

  it("shows a failing webhook's dead deliveries with their errors, replays them after confirmation, and they are delivered", async () => {
    let failing = true;
    receiver.answer = (hit) => (hit.path === '/hooks/flaky' && failing ? 500 : 200);
    await create('flaky', 200);
    expect(
      (await api('post', '/streams/flaky-1/events').send({ expectedVersion: 'any', events: [{ eventType: 'Scored', data: { n: 1 } }] }))
        .status,
    ).toBe(201);
    await eventually(async () => {
      const { body } = await api('get', '/subscriptions/flaky/failed');
      return (body as { deliveries: Array<{ status: string }> }).deliveries.some((d) => d.status === 'dead');
    }, 30_000);

    const page = await open();
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Subscriptions' }).click();
    await page.getByRole('link', { name: 'flaky', exact: true }).click();
    const failures = page.getByRole('table', { name: 'Failed deliveries' });
    await failures.waitFor();
    expect(await failures.textContent()).toContain('answered 500');
    await shot(page, 'subscription');

    // A checkpoint that is not a number is refused in the page, before any confirmation or call.
    const resets: string[] = [];
    page.on('request', (sent) => void (sent.url().endsWith('/reset') && resets.push(sent.url())));
    await page.getByLabel('Checkpoint').fill('');
    await page.getByRole('button', { name: 'Reset checkpoint' }).click();
    await page.getByText('The checkpoint must be an integer of 0 or more.').waitFor();
    expect(await page.getByRole('dialog').isVisible()).toBe(false);
    expect(resets).toEqual([]);

    failing = false;
    await page.getByRole('button', { name: 'Replay failed deliveries' }).focus();
    await page.keyboard.press('Enter'); // usable without a mouse
    await page.getByRole('dialog').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Replay' }).click();
    await page.getByText('deliveries made due now').waitFor();
    await eventually(() => receiver.received.some((hit) => hit.path === '/hooks/flaky' && hit.status === 200), 30_000);
    await eventually(async () => {
      await page.reload();
      return (await page.locator('#no-failures').count()) === 1;
    }, 30_000);
    await page.close();
  });

  it('shows health and key metrics', async () => {
    const page = await open();
    await signIn(page, READ);
    await page.getByRole('link', { name: 'Health' }).click();
    await page.getByRole('table', { name: 'Health checks' }).waitFor();
    expect(await page.locator('#overall').textContent()).toMatch(/ok|error/);
    expect(await page.getByRole('table', { name: 'Key metrics' }).textContent()).toContain('events appended');
    await shot(page, 'health');
    await page.close();
  });

  it('fits a phone-width screen and 1280 px without scrolling sideways', async () => {
    for (const width of [390, 1280]) {
      const page = await open(width);
      await signIn(page, READ);
      await page.goto(`${base}/admin/#/stream?id=game-1`);
      await page.getByRole('heading', { name: 'Stream game-1' }).waitFor();
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect({ width, overflow }).toEqual({ width, overflow: 0 });
      if (width === 390) await shot(page, 'phone');
      await page.close();
    }
  });

  async function create(name: string, status: number): Promise<void> {
    const body = { name, url: `${receiver.url}/hooks/${name}`, filter: { streamPrefix: `${name}-` }, ...fastRetries };
    const answer = await api('post', '/subscriptions').send(body);
    expect(answer.status).toBe(status === 200 ? 201 : status);
  }
});

const fastRetries = {
  retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
  failedRetry: { maxAttempts: 1, initialDelayMs: 50, maxDelayMs: 50 },
};
