import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { ConfigurationError, loadServiceConfig } from '../apps/event-store-service/src/configuration/service-config.js';
import { eventually } from './helpers/eventually.js';
import { listeningUrl, openEventStream } from './helpers/sse-client.js';
import { testConnection } from './helpers/test-database.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const ADMIN = 'admin-token-01234567890';
const as = (token: string) => ({ Authorization: `Bearer ${token}` });
const PERSONAL_DATA = JSON.stringify({ PlayerRegistered: { subject: 'playerId', fields: ['email', 'profile.name'] } });

const registered = (playerId: string, email: string, name: string) => ({
  eventType: 'PlayerRegistered',
  data: { playerId, email, profile: { name, level: 7 }, region: 'eu' },
});
const ERASED = { $erased: true };

interface EventView {
  streamId: string;
  globalPosition: number;
  data: { playerId: string; email: unknown; profile: { name: unknown; level: number }; region: string };
}

describe('erasure over HTTP: DELETE /subjects/{subjectId}', () => {
  let t: TestApp;
  let base: string;
  let receiver: WebhookReceiver;
  const sql = new pg.Pool({ ...testConnection(), max: 2 });

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp(
      {
        EVENT_STORE_TOKENS: `${READER}:read,${WRITER}:write,${ADMIN}:admin`,
        EVENT_STORE_MASTER_KEY: randomBytes(32).toString('base64'),
        EVENT_STORE_PERSONAL_DATA: PERSONAL_DATA,
        WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`,
        WEBHOOK_SYNC_INTERVAL_MS: '200',
      },
      'erasure-http',
    );
    base = await listeningUrl(t.http);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
    await sql.end();
  });

  const append = (streamId: string, events: unknown[]) =>
    request(t.http).post(`/streams/${streamId}/events`).set(as(WRITER)).send({ expectedVersion: 'any', events });
  const read = async (streamId: string) =>
    (await request(t.http).get(`/streams/${streamId}/events`).set(as(READER)).expect(200)).body as { events: EventView[] };

  it('stores personal fields of plain events sealed, reads them back, and after the forget reads them as erased everywhere', async () => {
    expect((await append('player-h1', [registered('h-1', 'hana@example.com', 'Hana')])).status).toBe(201);
    expect((await append('player-h2', [registered('h-2', 'hugo@example.com', 'Hugo')])).status).toBe(201);
    expect((await read('player-h1')).events[0]!.data).toEqual(registered('h-1', 'hana@example.com', 'Hana').data);
    const { rows } = await sql.query<{ data: string }>(`SELECT data::text AS data FROM "${t.schema}".events`);
    expect(rows).toHaveLength(2);
    for (const secret of ['hana@example.com', 'Hana', 'hugo@example.com', 'Hugo'])
      expect(rows.map((r) => r.data).join()).not.toContain(secret);
    const { rows: keys } = await sql.query<{ master_key_id: string | null }>(`SELECT master_key_id FROM "${t.schema}".subject_keys`);
    expect(keys.map((key) => key.master_key_id)).toEqual([expect.any(String), expect.any(String)]);
    const otherBefore = await read('player-h2');

    expect((await request(t.http).delete('/subjects/h-1').set(as(WRITER))).status).toBe(403);
    const forgotten = await request(t.http).delete('/subjects/h-1').set(as(ADMIN));
    expect(forgotten.status).toBe(200);
    expect(forgotten.body).toEqual({ subjectId: 'h-1', forgottenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), alreadyForgotten: false });
    const again = await request(t.http).delete('/subjects/h-1').set(as(ADMIN));
    expect(again.body).toEqual({ ...forgotten.body, alreadyForgotten: true });

    const erased = { playerId: 'h-1', email: ERASED, profile: { name: ERASED, level: 7 }, region: 'eu' };
    expect((await read('player-h1')).events[0]!.data).toEqual(erased);
    expect(await read('player-h2')).toEqual(otherBefore);
    // $all shows events once every older transaction on the server has ended (other test files run beside).
    const readAll = async () =>
      ((await request(t.http).get('/all/events').set(as(READER)).expect(200)).body as { events: EventView[] }).events;
    await eventually(async () => (await readAll()).length === 2, 30_000);
    expect((await readAll()).map((event) => event.data)).toEqual([erased, otherBefore.events[0]!.data]);

    const stream = await openEventStream(`${base}/all/subscribe?fromPosition=0`, as(READER));
    try {
      const delivered = await stream.take<EventView>(2);
      expect(delivered.map((event) => event.data)).toEqual([erased, otherBefore.events[0]!.data]);
    } finally {
      stream.close();
    }

    const created = await request(t.http)
      .post('/subscriptions')
      .set(as(ADMIN))
      .send({ name: 'erasure-hook', url: `${receiver.url}/hooks/erasure`, filter: { streamPrefix: 'player-h' } });
    expect(created.status).toBe(201);
    await eventually(() => receiver.accepted().length >= 2, 20_000);
    const deliveries = receiver.accepted<{ event: EventView }>().map((delivery) => delivery.event.data);
    expect(deliveries).toEqual([erased, otherBefore.events[0]!.data]);
    expect(receiver.received.map((hit) => hit.body).join()).not.toContain('hana');
  });

  it('refuses personal data of the forgotten subject with 400, and takes its other events', async () => {
    const refused = await append('player-h1', [registered('h-1', 'hana.again@example.com', 'Hana')]);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT', details: { subjectId: 'h-1', at: 'events[0]' } });
    expect((await append('player-h1', [{ eventType: 'PlayerRegistered', data: { playerId: 'h-1', region: 'us' } }])).status).toBe(201);
    const bad = await request(t.http)
      .delete(`/subjects/${encodeURIComponent('a\u0001b')}`)
      .set(as(ADMIN));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('documents the route in the OpenAPI document, guarded by the admin role', async () => {
    const document = (await request(t.http).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown>; security?: unknown[] }>>;
    };
    const forget = document.paths['/subjects/{subjectId}']?.delete;
    expect(forget?.tags).toEqual(['subjects']);
    expect(Object.keys(forget?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });

  it('refuses bad erasure variables at boot with one line naming the variable, never the key', () => {
    const secret = 'not a key, but a secret all the same';
    const attempt = (env: Record<string, string>): Error => {
      try {
        loadServiceConfig(env);
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected a configuration error');
    };
    const badKey = attempt({ EVENT_STORE_MASTER_KEY: secret });
    expect(badKey).toBeInstanceOf(ConfigurationError);
    expect(badKey.message).toMatch(/^Invalid configuration: EVENT_STORE_MASTER_KEY must be 32 bytes/);
    expect(badKey.message).not.toContain(secret);
    expect(attempt({ EVENT_STORE_PREVIOUS_MASTER_KEYS: randomBytes(32).toString('hex') }).message).toMatch(
      /EVENT_STORE_PREVIOUS_MASTER_KEYS is set but EVENT_STORE_MASTER_KEY is not/,
    );
    expect(attempt({ EVENT_STORE_PERSONAL_DATA: '{oops' }).message).toMatch(/EVENT_STORE_PERSONAL_DATA must be JSON/);
    expect(attempt({ EVENT_STORE_PERSONAL_DATA: '{"X":{"subject":"id","fields":["id"]}}' }).message).toMatch(
      /EVENT_STORE_PERSONAL_DATA: personalData\['X'\]: field 'id' holds the subject 'id'/,
    );
    expect(loadServiceConfig({ EVENT_STORE_PERSONAL_DATA: PERSONAL_DATA }).eventStore.personalData).toEqual(JSON.parse(PERSONAL_DATA));
  });
});
