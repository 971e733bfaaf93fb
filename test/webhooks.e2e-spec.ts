import { createHmac, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { EventStore } from '@game-bot/event-store';
import { eventually } from './helpers/eventually.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

interface Delivery {
  subscription: string;
  event: { eventId: string; streamId: string; streamVersion: number; globalPosition: number; data: { n: number } };
}

const scored = (n: number) => ({ eventId: randomUUID(), eventType: 'Scored', data: { n } });
const fast = { retry: { maxAttempts: 5, initialDelayMs: 20, maxDelayMs: 100 } };

describe('webhook subscriptions', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  let store: EventStore;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp(
      {
        WEBHOOK_ALLOWED_URLS: `${receiver.url}/hooks/`,
        WEBHOOK_SYNC_INTERVAL_MS: '200',
        HEALTH_MAX_SUBSCRIPTION_LAG: '0',
        HEALTH_MAX_FAILED_DELIVERIES: '0',
      },
      'hooks',
    );
    store = t.app.get(EventStore);
  });
  afterEach(() => {
    receiver.answer = () => 200;
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  const create = (body: Record<string, unknown>) => request(t.http).post('/subscriptions').send(body);

  it('delivers an event once, after two failed attempts, signed with the subscription secret', async () => {
    let attempts = 0;
    receiver.answer = (hit) => (hit.path !== '/hooks/signed' ? 200 : ++attempts <= 2 ? 500 : 200);
    const created = await create({ name: 'signed', url: `${receiver.url}/hooks/signed`, filter: { streamPrefix: 'signed-' }, ...fast });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'signed',
      streamId: '$all',
      filter: { streamPrefix: 'signed-' },
      startFrom: 'origin',
      onFailure: 'skip',
    });
    const secret = created.body.secret as string;
    expect(secret.length).toBeGreaterThanOrEqual(32);

    const event = scored(1);
    const appended = await store.appendToStream('signed-1', 'no_stream', [event]);
    await eventually(() => receiver.received.filter((hit) => hit.path === '/hooks/signed').length === 3);
    await sleep(500);
    const hits = receiver.received.filter((hit) => hit.path === '/hooks/signed');
    expect(hits.map((hit) => hit.status)).toEqual([500, 500, 200]);
    const delivered = hits[2]!;
    const expected = `sha256=${createHmac('sha256', secret).update(delivered.body).digest('hex')}`;
    expect(delivered.headers['x-event-store-signature']).toBe(expected);
    expect(delivered.headers['x-event-store-event-id']).toBe(event.eventId);
    expect(JSON.parse(delivered.body)).toMatchObject({
      subscription: 'signed',
      event: { eventId: event.eventId, streamId: 'signed-1', streamVersion: 1, globalPosition: appended.lastPosition, data: { n: 1 } },
    });

    await eventually(async () => (await request(t.http).get('/subscriptions/signed')).body.checkpoint === appended.lastPosition);
    const inspected = await request(t.http).get('/subscriptions/signed');
    expect(inspected.status).toBe(200);
    expect(inspected.body).toMatchObject({ name: 'signed', url: `${receiver.url}/hooks/signed`, lag: 0, failed: 0, dead: 0 });
    expect(inspected.body.owner).toEqual(expect.any(String));
    expect(inspected.body).not.toHaveProperty('secret');
    const listed = await request(t.http).get('/subscriptions');
    expect(listed.body.subscriptions.map((entry: { name: string }) => entry.name)).toContain('signed');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
  });

  it('delivers the events of a stream in order', async () => {
    await create({
      name: 'ordered',
      url: `${receiver.url}/hooks/ordered`,
      streamId: 'ordered-1',
      ...fast,
      secret: 'a-secret-of-our-own-choosing',
    }).expect(201);
    let calls = 0;
    receiver.answer = (hit) => (hit.path === '/hooks/ordered' && ++calls % 3 === 0 ? 503 : 200); // every third call fails once
    for (let n = 1; n <= 10; n += 1) await store.appendToStream('ordered-1', 'any', [scored(n)]);
    const ordered = () => receiver.accepted<Delivery>().filter((delivery) => delivery.subscription === 'ordered');
    await eventually(() => ordered().length === 10);
    expect(ordered().map((delivery) => delivery.event.streamVersion)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const hit = receiver.received.find((entry) => entry.path === '/hooks/ordered')!;
    expect(hit.headers['x-event-store-signature']).toBe(
      `sha256=${createHmac('sha256', 'a-secret-of-our-own-choosing').update(hit.body).digest('hex')}`,
    );
  });

  it('with onFailure halt, holds a stream back at a failing event until it is delivered, keeping the order', async () => {
    await create({
      name: 'strict',
      url: `${receiver.url}/hooks/strict`,
      streamId: 'strict-1',
      onFailure: 'halt',
      retry: { maxAttempts: 2, initialDelayMs: 10 },
    }).expect(201);
    let failuresLeft = 4; // two runs of two attempts each, then it goes through
    receiver.answer = (hit) =>
      hit.path === '/hooks/strict' && (JSON.parse(hit.body) as Delivery).event.streamVersion === 3 && failuresLeft-- > 0 ? 500 : 200;
    for (let n = 1; n <= 6; n += 1) await store.appendToStream('strict-1', 'any', [scored(n)]);
    const strict = () => receiver.received.filter((hit) => hit.path === '/hooks/strict');
    await eventually(() => strict().filter((hit) => hit.status === 200).length === 6, 15_000);
    const versions = strict().map((hit) => [(JSON.parse(hit.body) as Delivery).event.streamVersion, hit.status]);
    expect(versions).toEqual([
      [1, 200],
      [2, 200],
      [3, 500],
      [3, 500],
      [3, 500],
      [3, 500],
      [3, 200],
      [4, 200],
      [5, 200],
      [6, 200],
    ]);
  });

  it('reports a webhook held back by its receiver in /health/ready without making the service unready', async () => {
    receiver.answer = (hit) => (hit.path === '/hooks/blocked' ? 503 : 200);
    await store.appendToStream('blocked-1', 'no_stream', [scored(1), scored(2)]);
    await create({
      name: 'blocked',
      url: `${receiver.url}/hooks/blocked`,
      streamId: 'blocked-1',
      onFailure: 'halt',
      retry: { maxAttempts: 1 },
    }).expect(201);
    await eventually(() => receiver.received.some((hit) => hit.path === '/hooks/blocked'));
    await eventually(async () => (await request(t.http).get('/subscriptions/blocked')).body.lag === 2);
    const ready = await request(t.http).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ webhooks: { status: 'up' }, subscriptions: { status: 'up', maxLag: 0 } });
    expect(ready.body.details.webhooks.maxLag).toBeGreaterThanOrEqual(2); // past HEALTH_MAX_SUBSCRIPTION_LAG=0, yet up
    await request(t.http).delete('/subscriptions/blocked').expect(204);
  });

  it('dead-letters a delivery that keeps failing, shows it, and replays it', async () => {
    receiver.answer = (hit) => (hit.path === '/hooks/dead' ? 500 : 200);
    await create({
      name: 'dead',
      url: `${receiver.url}/hooks/dead`,
      filter: { streamPrefix: 'dead-' },
      retry: { maxAttempts: 2, initialDelayMs: 10 },
      failedRetry: { maxAttempts: 1, initialDelayMs: 10 },
    }).expect(201);
    const event = scored(7);
    await store.appendToStream('dead-1', 'no_stream', [event]);
    await eventually(
      async () => (await request(t.http).get('/subscriptions/dead/failed?status=dead')).body.deliveries.length === 1,
      15_000,
    );
    const dead = (await request(t.http).get('/subscriptions/dead/failed')).body.deliveries;
    expect(dead).toEqual([
      expect.objectContaining({
        eventId: event.eventId,
        streamId: 'dead-1',
        status: 'dead',
        lastError: expect.stringContaining('answered 500'),
      }),
    ]);
    expect((await request(t.http).get('/subscriptions/dead')).body).toMatchObject({ dead: 1, failed: 0 });

    receiver.answer = () => 200;
    const replayed = await request(t.http).post('/subscriptions/dead/failed/replay?status=dead');
    expect(replayed.status).toBe(200);
    expect(replayed.body).toEqual({ replayed: 1 });
    await eventually(
      () => receiver.accepted<Delivery>().some((delivery) => delivery.subscription === 'dead' && delivery.event.eventId === event.eventId),
      15_000,
    );
    await eventually(async () => (await request(t.http).get('/subscriptions/dead/failed')).body.deliveries.length === 0, 5_000);
  });

  it('resets the checkpoint to deliver again, deletes, and answers 404 and 409 with the error body', async () => {
    await store.appendToStream('again-1', 'no_stream', [scored(1), scored(2)]);
    await create({ name: 'again', url: `${receiver.url}/hooks/again`, streamId: 'again-1', ...fast }).expect(201);
    const again = () => receiver.accepted<Delivery>().filter((delivery) => delivery.subscription === 'again');
    await eventually(() => again().length === 2);
    const duplicate = await create({ name: 'again', url: `${receiver.url}/hooks/again` });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ statusCode: 409, code: 'SUBSCRIPTION_EXISTS' });

    await request(t.http).post('/subscriptions/again/reset').send({ position: 1 }).expect(204);
    await eventually(() => again().length === 3);
    expect(again().map((delivery) => delivery.event.streamVersion)).toEqual([1, 2, 2]);

    await request(t.http).delete('/subscriptions/again').expect(204);
    const gone = await request(t.http).get('/subscriptions/again');
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ statusCode: 404, code: 'SUBSCRIPTION_NOT_FOUND' });
    expect((await request(t.http).delete('/subscriptions/again')).status).toBe(404);
    expect((await request(t.http).get('/subscriptions/again/failed')).status).toBe(404);
    await store.appendToStream('again-1', 2, [scored(3)]);
    await sleep(500);
    expect(again()).toHaveLength(3);
  });

  it('refuses bad definitions and targets outside the allow-list with INVALID_ARGUMENT', async () => {
    const cases: Array<Record<string, unknown>> = [
      { name: 'bad-1', url: 'not a url' },
      { name: 'bad-2', url: 'ftp://127.0.0.1/hooks/' },
      { name: 'bad-3', url: `${receiver.url}/elsewhere` },
      { name: 'bad-4', url: `${receiver.url.replace('127.0.0.1', 'localhost')}/hooks/x` },
      { name: 'bad-5', url: `${receiver.url}/hooks/x`, startFrom: 'yesterday' },
      { name: 'bad-6', url: `${receiver.url}/hooks/x`, retry: { maxAttempts: 0 } },
      { name: 'bad-7', url: `${receiver.url}/hooks/x`, secret: 'short' },
      { name: '', url: `${receiver.url}/hooks/x` },
      { url: `${receiver.url}/hooks/x` },
      { name: 'with:colon', url: `${receiver.url}/hooks/x` },
      { name: 'bad-8', url: `${receiver.url.replace('http://', 'http://user:secret@')}/hooks/x` },
      { name: 'bad-9', url: `${receiver.url}/hooks-elsewhere` },
    ];
    for (const body of cases) {
      const response = await create(body);
      expect({ body, status: response.status, code: response.body.code }).toEqual({ body, status: 400, code: 'INVALID_ARGUMENT' });
    }
    const nested = await create({ name: 'bad-6', url: `${receiver.url}/hooks/x`, retry: { maxAttempts: 0 } });
    expect(nested.body.message).toMatch(/maxAttempts/);
    expect((await request(t.http).get('/subscriptions')).body.subscriptions.map((entry: { name: string }) => entry.name)).not.toContain(
      'bad-5',
    );
  });
});
