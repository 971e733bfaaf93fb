import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { EventStore, EventStoreHealth } from '@game-bot/event-store';
import { eventually } from './helpers/eventually.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { uniqueSchema } from './helpers/test-store.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

interface Delivery {
  event: { eventId: string; streamId: string; streamVersion: number };
}

/** Two instances of the service on one store, as a deployment runs them. */
describe('webhook subscriptions across instances', () => {
  const env = { EVENT_STORE_SCHEMA: uniqueSchema('instances'), WEBHOOK_SYNC_INTERVAL_MS: '200' };
  let receiver: WebhookReceiver;
  let first: TestApp | undefined;
  let second: TestApp | undefined;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    first = await createTestApp(env, 'instances');
  });
  afterAll(async () => {
    await first?.app.close(); // the schema is shared: the last one drops it
    await second?.close();
    await receiver.close();
  });

  const delivered = () => receiver.accepted<Delivery>().map((delivery) => delivery.event);
  const append = (app: TestApp, stream: string, count: number) =>
    app.app.get(EventStore).appendToStream(
      stream,
      'any',
      Array.from({ length: count }, (_, n) => ({ eventId: randomUUID(), eventType: 'Scored', data: { n } })),
    );
  const inspect = async (app: TestApp, name = 'shared') =>
    (await request(app.http).get(`/subscriptions/${name}`)).body as { owner: string | null; checkpoint: number };

  it('delivers each event once, from one instance; another takes over when it stops, losing nothing', async () => {
    await request(first!.http)
      .post('/subscriptions')
      .send({ name: 'shared', url: `${receiver.url}/hooks/shared` })
      .expect(201);
    await append(first!, 'match-1', 5);
    await eventually(() => delivered().length === 5);
    const firstOwner = (await inspect(first!)).owner;
    expect(firstOwner).toEqual(expect.any(String));

    second = await createTestApp(env, 'instances'); // picks the webhook up from the table and stands by
    await append(second, 'match-2', 5);
    await eventually(() => delivered().length === 10);
    await sleep(500);
    expect((await inspect(second)).owner).toBe(firstOwner); // one instance delivers; no second delivery

    await first!.app.close(); // graceful: writes its checkpoint and hands the lease over
    first = undefined;
    await append(second, 'match-1', 5);
    await eventually(() => delivered().length === 15, 15_000);
    const taken = await inspect(second);
    expect(taken.owner).not.toBe(firstOwner);
    expect(taken.owner).toEqual(expect.any(String));

    const ids = delivered().map((event) => event.eventId);
    expect(new Set(ids).size).toBe(15); // each once
    for (const stream of ['match-1', 'match-2']) {
      const versions = delivered()
        .filter((event) => event.streamId === stream)
        .map((event) => event.streamVersion);
      expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
    }
  });

  it('resets and deletes through the instance that does not deliver: no events again after the deletion, nothing left behind', async () => {
    first = await createTestApp(env, 'instances');
    await append(first, 'match-3', 3);
    await request(second!.http)
      .post('/subscriptions')
      .send({ name: 'elsewhere', url: `${receiver.url}/hooks/elsewhere`, streamId: 'match-3' })
      .expect(201);
    const versions = () =>
      receiver.received
        .filter((hit) => hit.path === '/hooks/elsewhere' && hit.status === 200)
        .map((hit) => (JSON.parse(hit.body) as Delivery).event.streamVersion);
    await eventually(() => versions().length === 3);
    const owner = (await inspect(second!, 'elsewhere')).owner;
    await sleep(500); // the other instance has picked it up and stands by
    expect((await inspect(first, 'elsewhere')).owner).toBe(owner);

    await request(first.http).post('/subscriptions/elsewhere/reset').send({ position: 1 }).expect(204);
    await eventually(() => versions().length === 5, 10_000);
    expect(versions()).toEqual([1, 2, 3, 2, 3]);

    await request(first.http).delete('/subscriptions/elsewhere').expect(204);
    await sleep(1_500); // the deliverer's next lease renewal finds the subscription gone
    await append(second!, 'match-3', 2);
    await sleep(1_000);
    expect(versions()).toEqual([1, 2, 3, 2, 3]);
    const leftovers = await first.app.get(EventStoreHealth).subscriptions();
    expect(leftovers.map((entry) => entry.name)).not.toContain('webhook:elsewhere');
  });
});
