import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const ADMIN = 'admin-token-01234567890';
const TOKENS = `${READER}:read,${WRITER}:write,${ADMIN}:admin`;
const event = { expectedVersion: 'any', events: [{ eventType: 'GuessProcessed', data: { guess: 'crane' } }] };

describe('access control with bearer tokens', () => {
  let t: TestApp;
  let guarded: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ EVENT_STORE_TOKENS: TOKENS }, 'auth');
    guarded = await createTestApp({ EVENT_STORE_TOKENS: TOKENS, PUBLIC_HEALTH_AND_METRICS: 'false' }, 'authobs');
  });
  afterAll(async () => {
    await t.close();
    await guarded.close();
  });

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('refuses requests without a known token: 401 UNAUTHORIZED in the error body', async () => {
    for (const headers of [{}, as('not-a-token-at-all-0000'), { Authorization: `Basic ${READER}` }]) {
      const response = await request(t.http).get('/streams').set(headers);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('checks roles: read reads, write appends, only admin deletes (403 FORBIDDEN otherwise)', async () => {
    const forbidden = await request(t.http).post('/streams/auth-1/events').set(as(READER)).send(event);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
    expect((await request(t.http).post('/streams/auth-1/events').set(as(WRITER)).send(event)).status).toBe(201);
    expect((await request(t.http).get('/streams/auth-1/events').set(as(READER))).status).toBe(200);
    expect((await request(t.http).get('/all/events').set(as(ADMIN))).status).toBe(200);
    expect((await request(t.http).delete('/streams/auth-1').set(as(WRITER))).status).toBe(403);
    expect((await request(t.http).delete('/streams/auth-1').set(as(ADMIN))).status).toBe(204);
  });

  it('needs admin to manage webhook subscriptions and read to look at them or subscribe', async () => {
    const webhook = { name: 'auth-hook', url: 'http://127.0.0.1:9/hooks' };
    expect((await request(t.http).post('/subscriptions').set(as(WRITER)).send(webhook)).status).toBe(403);
    expect((await request(t.http).post('/subscriptions').set(as(ADMIN)).send(webhook)).status).toBe(201);
    expect((await request(t.http).get('/subscriptions').set(as(READER))).status).toBe(200);
    expect((await request(t.http).get('/subscriptions')).status).toBe(401);
    expect((await request(t.http).post('/subscriptions/auth-hook/reset').set(as(WRITER)).send({ position: 0 })).status).toBe(403);
    expect((await request(t.http).post('/subscriptions/auth-hook/failed/replay').set(as(WRITER))).status).toBe(403);
    expect((await request(t.http).delete('/subscriptions/auth-hook').set(as(WRITER))).status).toBe(403);
    expect((await request(t.http).delete('/subscriptions/auth-hook').set(as(ADMIN))).status).toBe(204);
    const stream = await request(t.http).get('/all/subscribe');
    expect(stream.status).toBe(401);
    expect(stream.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('leaves health and metrics open by default, or guards them with a read token', async () => {
    expect((await request(t.http).get('/health/live')).status).toBe(200);
    expect((await request(t.http).get('/metrics')).status).toBe(200);
    expect((await request(guarded.http).get('/health/live')).status).toBe(401);
    expect((await request(guarded.http).get('/metrics')).status).toBe(401);
    expect((await request(guarded.http).get('/metrics').set(as(READER))).status).toBe(200);
  });
});
