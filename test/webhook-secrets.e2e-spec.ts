import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { EventStore, EventStoreConnection } from '@game-bot/event-store';
import { withServiceMigrations } from '../apps/event-store-service/src/schema/service-schema.js';
import { WebhookSecrets } from '../apps/event-store-service/src/webhooks/webhook-secrets.js';
import { eventually } from './helpers/eventually.js';
import { freePort, runService, type Exit, type ServiceProcess } from './helpers/service-process.js';
import { createTestApp, TEST_WEBHOOK_SECRETS_KEY, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from './helpers/webhook-receiver.js';

const OWN_SECRET = 'a-secret-of-our-own-choosing';
const keyId = (key: string): string => WebhookSecrets.parse(key, undefined).currentKeyId!;
const signed = (hit: ReceivedWebhook, secret: string): boolean =>
  hit.headers['x-event-store-signature'] === `sha256=${createHmac('sha256', secret).update(hit.body).digest('hex')}`;
const scored = (n: number) => ({ eventId: randomUUID(), eventType: 'Scored', data: { n } });

/** How the process ended, or `running` (then stopped) when it had not within `timeoutMs`. */
async function exitWithin(service: ServiceProcess, timeoutMs: number): Promise<Exit | 'running'> {
  const outcome = await Promise.race([service.exited, sleep(timeoutMs, 'running' as const, { ref: false })]);
  if (outcome === 'running') service.stop();
  return outcome;
}

/** Webhook secrets at rest: encrypted with WEBHOOK_SECRETS_KEY, never in plain text; the number of webhooks capped. */
describe('webhook secrets and limits', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 4 });
  let receiver: WebhookReceiver;
  const env = () => ({ WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`, WEBHOOK_SYNC_INTERVAL_MS: '200' });
  /** A webhook's row as PostgreSQL holds it, every column. */
  const stored = async (schema: string, name: string) => {
    const { rows } = await sql.query<{ row: { secret?: string | null; encrypted_secret?: string | null } }>(
      `SELECT row_to_json(w) AS row FROM "${schema}".webhooks w WHERE name = $1`,
      [name],
    );
    return { ...rows[0]!.row, text: JSON.stringify(rows[0]!.row) };
  };
  const hitsOf = (path: string) => receiver.received.filter((hit) => hit.path === path);

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await sql.end();
  });

  describe('in one instance', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(env(), 'secrets');
    });
    afterAll(() => t.close());

    it('stores no secret in plain text, signs with the original secret, and never shows it after the creation', async () => {
      const own = await request(t.http)
        .post('/subscriptions')
        .send({ name: 'own', url: `${receiver.url}/hooks/own`, streamId: 'own-1', secret: OWN_SECRET });
      expect(own.status).toBe(201);
      expect(own.body.secret).toBe(OWN_SECRET);
      const generated = await request(t.http)
        .post('/subscriptions')
        .send({ name: 'generated', url: `${receiver.url}/hooks/generated` });
      expect(generated.status).toBe(201);
      const secrets = { own: OWN_SECRET, generated: generated.body.secret as string };

      for (const [name, secret] of Object.entries(secrets)) {
        const row = await stored(t.schema, name);
        expect(row.text).not.toContain(secret);
        expect(row.secret).toBeNull();
        expect(row.encrypted_secret).toMatch(new RegExp(`^v1:${keyId(TEST_WEBHOOK_SECRETS_KEY)}:[\\w-]{16}:[\\w-]{22}:[\\w-]+$`));
      }

      await t.app.get(EventStore).appendToStream('own-1', 'no_stream', [scored(1)]);
      await eventually(() => hitsOf('/hooks/own').length === 1 && hitsOf('/hooks/generated').length === 1);
      expect(signed(hitsOf('/hooks/own')[0]!, OWN_SECRET)).toBe(true);
      expect(signed(hitsOf('/hooks/generated')[0]!, secrets.generated)).toBe(true);

      const encrypted = (await stored(t.schema, 'own')).encrypted_secret!;
      const shown = [await request(t.http).get('/subscriptions/own'), await request(t.http).get('/subscriptions')].map((r) =>
        JSON.stringify(r.body),
      );
      for (const text of shown) {
        for (const hidden of [OWN_SECRET, secrets.generated, encrypted, 'encrypted', 'secret']) expect(text).not.toContain(hidden);
      }
    });
  });

  it('encrypts at boot the plain-text secrets of rows written before, once with instances booting together, and signs with them', async () => {
    const schema = uniqueSchema('secrets_legacy');
    const first = await createTestApp({ ...env(), EVENT_STORE_SCHEMA: schema }, 'secrets_legacy');
    const connection = first.app.get(EventStoreConnection);
    await first.app.close();
    // Back to the schema before encryption, with a webhook as it stored them.
    expect(await withServiceMigrations(connection, (runner) => runner.revertLast())).toBe('EncryptWebhookSecrets1764576000000');
    await sql.query(`INSERT INTO "${schema}".webhooks (name, url, secret, stream_id, start_from) VALUES ($1, $2, $3, $4, 'origin')`, [
      'legacy',
      `${receiver.url}/hooks/legacy`,
      'legacy-plain-secret-0123',
      'legacy-1',
    ]);

    const [one, two] = await Promise.all([
      createTestApp({ ...env(), EVENT_STORE_SCHEMA: schema }, 'secrets_legacy'),
      createTestApp({ ...env(), EVENT_STORE_SCHEMA: schema }, 'secrets_legacy'),
    ]);
    try {
      const row = await stored(schema, 'legacy');
      expect(row.text).not.toContain('legacy-plain-secret-0123');
      expect(row.secret).toBeNull();
      expect(row.encrypted_secret).toMatch(new RegExp(`^v1:${keyId(TEST_WEBHOOK_SECRETS_KEY)}:`));
      expect(WebhookSecrets.parse(TEST_WEBHOOK_SECRETS_KEY, undefined).decrypt('legacy', row.encrypted_secret!)).toBe(
        'legacy-plain-secret-0123',
      );

      await one.app.get(EventStore).appendToStream('legacy-1', 'no_stream', [scored(1)]);
      await eventually(() => hitsOf('/hooks/legacy').length === 1);
      expect(signed(hitsOf('/hooks/legacy')[0]!, 'legacy-plain-secret-0123')).toBe(true);
    } finally {
      await one.app.close(); // the schema is shared: the last one drops it
      await two.close();
    }
  });

  describe('key rotation and wrong keys (one store, booted again with other keys)', () => {
    const schema = uniqueSchema('secrets_rotation');
    const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('hex')];
    const boot = (keys: Record<string, string>) => createTestApp({ ...env(), EVENT_STORE_SCHEMA: schema, ...keys }, 'secrets_rotation');
    let last: TestApp | undefined;
    afterAll(() => last?.close());

    const deliversSigned = async (t: TestApp, n: number) => {
      await t.app.get(EventStore).appendToStream('rotating-1', 'any', [scored(n)]);
      await eventually(() => hitsOf('/hooks/rotating').length === n);
      expect(signed(hitsOf('/hooks/rotating')[n - 1]!, OWN_SECRET)).toBe(true);
    };

    it('re-encrypts with the new key at boot what the previous key encrypted, and the previous key can then go', async () => {
      const before = await boot({ WEBHOOK_SECRETS_KEY: oldKey });
      await request(before.http)
        .post('/subscriptions')
        .send({ name: 'rotating', url: `${receiver.url}/hooks/rotating`, streamId: 'rotating-1', secret: OWN_SECRET })
        .expect(201);
      await deliversSigned(before, 1);
      expect((await stored(schema, 'rotating')).encrypted_secret).toMatch(new RegExp(`^v1:${keyId(oldKey)}:`));
      await before.app.close();

      const rotated = await boot({
        WEBHOOK_SECRETS_KEY: newKey,
        WEBHOOK_SECRETS_PREVIOUS_KEYS: `${randomBytes(32).toString('hex')},${oldKey}`,
      });
      expect((await stored(schema, 'rotating')).encrypted_secret).toMatch(new RegExp(`^v1:${keyId(newKey)}:`));
      await deliversSigned(rotated, 2);
      await rotated.app.close();

      last = await boot({ WEBHOOK_SECRETS_KEY: newKey });
      await deliversSigned(last, 3);
      await last.app.close();
      last = undefined;
    });

    it('with a wrong key, keeps serving and logs one line naming the webhook and the key it needs, without a stack', async () => {
      const port = await freePort();
      const wrongKey = randomBytes(32).toString('hex');
      const service = runService({ ...testDatabaseEnv(schema), ...env(), PORT: String(port), WEBHOOK_SECRETS_KEY: wrongKey });
      try {
        await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
        await sleep(1_000); // a few syncs: the error is logged once
        expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
        const errors = service
          .output()
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((line) => line.level === 'error');
        expect(errors).toEqual([
          expect.objectContaining({
            context: 'Webhooks',
            message: `Webhook 'rotating' could not start: its secret is encrypted with key ${keyId(newKey)}, which is neither WEBHOOK_SECRETS_KEY (key ${keyId(wrongKey)}) nor in WEBHOOK_SECRETS_PREVIOUS_KEYS: add that key to WEBHOOK_SECRETS_PREVIOUS_KEYS, or delete the webhook and create it again`,
          }),
        ]);
        expect(JSON.stringify(errors)).not.toMatch(/\n\s+at |"stack"/);
        service.stop();
        expect(await service.exited).toEqual({ code: 0, signal: null });
      } finally {
        service.stop();
      }
      // Untouched: the right key still opens it.
      last = await boot({ WEBHOOK_SECRETS_KEY: newKey });
      await deliversSigned(last, 4);
    });

    it('without a key, refuses to boot over stored webhooks, with one line naming them and no stack', async () => {
      const service = runService({ ...testDatabaseEnv(schema), PORT: String(await freePort()) });
      expect(await exitWithin(service, 30_000)).toEqual({ code: 1, signal: null });
      const lines = service.output().trim().split('\n');
      // The modules' start-up lines (JSON) may come before it: the boot fails once they have started.
      expect(lines.filter((line) => !line.startsWith('{'))).toEqual([
        "Event store service failed to start: WEBHOOK_SECRETS_KEY is unset and 1 webhook subscription(s) are stored ('rotating'): set it to the key their secrets are encrypted with",
      ]);
      expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    });
  });

  it('refuses a malformed key, and production without a key where webhooks are allowed, in one line that does not repeat it', async () => {
    const database = testDatabaseEnv(uniqueSchema('secrets_boot'));
    const bad = runService({ ...database, PORT: String(await freePort()), WEBHOOK_SECRETS_KEY: 'not-a-32-byte-key' });
    expect(await exitWithin(bad, 30_000)).toEqual({ code: 1, signal: null });
    expect(bad.output().trim()).toBe(
      'Event store service failed to start: Invalid configuration: WEBHOOK_SECRETS_KEY must be 32 bytes, as base64 (44 characters) or hex (64 characters): generate one with `openssl rand -base64 32`',
    );
    const production = runService({
      ...database,
      NODE_ENV: 'production',
      EVENT_STORE_ALLOW_NO_AUTH: 'true',
      EVENT_STORE_MIGRATIONS: 'run',
      WEBHOOK_ALLOWED_URLS: 'https://hooks.example.com/',
      PORT: String(await freePort()),
    });
    expect(await exitWithin(production, 30_000)).toEqual({ code: 1, signal: null });
    expect(production.output().trim()).toBe(
      'Event store service failed to start: WEBHOOK_SECRETS_KEY is unset in production while WEBHOOK_ALLOWED_URLS allows webhooks: set it to 32 random bytes (base64 or hex, e.g. `openssl rand -base64 32`) to encrypt their secrets',
    );
  });

  it('without a key, refuses to create a webhook with the error body, storing nothing', async () => {
    const t = await createTestApp({ ...env(), WEBHOOK_SECRETS_KEY: '' }, 'secrets_nokey');
    try {
      const refused = await request(t.http)
        .post('/subscriptions')
        .send({ name: 'unkeyed', url: `${receiver.url}/hooks/unkeyed` });
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({
        statusCode: 503,
        code: 'WEBHOOKS_NOT_CONFIGURED',
        message: expect.stringMatching(/WEBHOOK_SECRETS_KEY.* is unset; set it/),
        details: { variable: 'WEBHOOK_SECRETS_KEY' },
      });
      expect((await sql.query(`SELECT count(*)::int AS n FROM "${t.schema}".webhooks`)).rows).toEqual([{ n: 0 }]);
    } finally {
      await t.close();
    }
  });

  it('caps the webhooks at WEBHOOK_MAX_SUBSCRIPTIONS, also when creations race through several instances at the limit', async () => {
    const schema = uniqueSchema('secrets_cap');
    const limited = { ...env(), EVENT_STORE_SCHEMA: schema, WEBHOOK_MAX_SUBSCRIPTIONS: '3' };
    const instances = await Promise.all([1, 2, 3].map(() => createTestApp(limited, 'secrets_cap')));
    const create = (t: TestApp, name: string) =>
      request(t.http)
        .post('/subscriptions')
        .send({ name, url: `${receiver.url}/hooks/${name}` });
    try {
      await create(instances[0]!, 'cap-1').expect(201);
      await create(instances[1]!, 'cap-2').expect(201);
      // One place left, six creations at once, two through each instance.
      const raced = await Promise.all(instances.flatMap((t, i) => [create(t, `race-${i}-a`), create(t, `race-${i}-b`)]));
      expect(raced.map((r) => r.status).sort()).toEqual([201, 400, 400, 400, 400, 400]);
      for (const refused of raced.filter((r) => r.status === 400)) {
        expect(refused.body).toEqual({
          statusCode: 400,
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(
            /^There are 3 webhook subscriptions and WEBHOOK_MAX_SUBSCRIPTIONS allows 3 .*raise WEBHOOK_MAX_SUBSCRIPTIONS/,
          ),
          details: { count: 3, max: 3 },
        });
      }
      expect((await sql.query(`SELECT count(*)::int AS n FROM "${schema}".webhooks`)).rows).toEqual([{ n: 3 }]);
      // A name taken is still that, at the limit; deleting one makes room.
      expect((await create(instances[2]!, 'cap-1')).body).toMatchObject({ statusCode: 409, code: 'SUBSCRIPTION_EXISTS' });
      await request(instances[0]!.http).delete('/subscriptions/cap-2').expect(204);
      await create(instances[1]!, 'cap-4').expect(201);
    } finally {
      await instances[0]!.app.close();
      await instances[1]!.app.close();
      await instances[2]!.close(); // the schema is shared: the last one drops it
    }
  });
});
