import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const READ = 'read-token-of-the-admin-api-test';
const ADMIN = 'admin-token-of-the-admin-api-test';

describe('the routes the admin console uses', () => {
  let t: TestApp;
  let open: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ EVENT_STORE_TOKENS: `${READ}:read,${ADMIN}:admin` }, 'adminapi');
    open = await createTestApp({}, 'adminopen');
  });
  afterAll(async () => {
    await t.close();
    await open.close();
  });

  it('GET /events/{id} answers the event wherever it is stored, EVENT_NOT_FOUND for an unknown id, INVALID_ARGUMENT for a bad one', async () => {
    const eventId = randomUUID();
    const appended = await request(t.http)
      .post('/streams/found-1/events')
      .set('Authorization', `Bearer ${ADMIN}`)
      .send({ expectedVersion: 'no_stream', events: [{ eventId, eventType: 'Found', data: { n: 1 }, tags: ['t:1'] }] });
    expect(appended.status).toBe(201);
    const found = await request(t.http).get(`/events/${eventId}`).set('Authorization', `Bearer ${READ}`);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ eventId, eventType: 'Found', streamId: 'found-1', streamVersion: 1, data: { n: 1 }, tags: ['t:1'] });
    expect(found.body.globalPosition).toBe(appended.body.firstPosition);

    const missing = randomUUID();
    const unknown = await request(t.http).get(`/events/${missing}`).set('Authorization', `Bearer ${READ}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, code: 'EVENT_NOT_FOUND', details: { eventId: missing } });
    const bad = await request(t.http).get('/events/not-a-uuid').set('Authorization', `Bearer ${READ}`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_ARGUMENT');
    expect((await request(t.http).get(`/events/${eventId}`)).status).toBe(401);
  });

  it('GET /events/{id} hides what stream reads hide: events of a soft-deleted stream, events past the retention', async () => {
    const auth = { Authorization: `Bearer ${ADMIN}` };
    const ids = [randomUUID(), randomUUID()];
    const events = ids.map((eventId, n) => ({ eventId, eventType: 'Kept', data: { n } }));
    expect((await request(t.http).post('/streams/trimmed-1/events').set(auth).send({ expectedVersion: 'no_stream', events })).status).toBe(
      201,
    );
    expect((await request(t.http).put('/streams/trimmed-1/metadata').set(auth).send({ $truncateBefore: 2 })).status).toBe(200);
    expect((await request(t.http).get(`/events/${ids[0]}`).set(auth)).status).toBe(404);
    expect((await request(t.http).get(`/events/${ids[1]}`).set(auth)).status).toBe(200);

    const gone = randomUUID();
    const body = { expectedVersion: 'no_stream', events: [{ eventId: gone, eventType: 'Gone', data: {} }] };
    expect((await request(t.http).post('/streams/deleted-1/events').set(auth).send(body)).status).toBe(201);
    expect((await request(t.http).delete('/streams/deleted-1').set(auth)).status).toBe(204);
    const answer = await request(t.http).get(`/events/${gone}`).set(auth);
    expect(answer.status).toBe(404);
    expect(answer.body.code).toBe('EVENT_NOT_FOUND');
  });

  it("GET /session tells the token's role, refuses an unknown token, and is admin without access control", async () => {
    expect((await request(t.http).get('/session').set('Authorization', `Bearer ${READ}`)).body).toEqual({
      role: 'read',
      accessControl: true,
    });
    expect((await request(t.http).get('/session').set('Authorization', `Bearer ${ADMIN}`)).body).toEqual({
      role: 'admin',
      accessControl: true,
    });
    const unknown = await request(t.http).get('/session').set('Authorization', 'Bearer not-a-token-of-this-service');
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('UNAUTHORIZED');
    expect((await request(t.http).get('/session')).status).toBe(401);
    expect((await request(open.http).get('/session')).body).toEqual({ role: 'admin', accessControl: false });
  });
});
