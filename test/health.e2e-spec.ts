import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { createTestAppBehindProxy, type ProxiedTestApp } from './helpers/test-app.js';

/** How node-postgres and its pool word a failed connection. */
const RAW_DRIVER_TEXT = /^(connect E[A-Z]+|timeout exceeded when trying to connect|Connection terminated)/;

describe('health', () => {
  let t: ProxiedTestApp;

  beforeAll(async () => {
    t = await createTestAppBehindProxy(
      { EVENT_STORE_RETRY_ATTEMPTS: '1', EVENT_STORE_CONNECT_TIMEOUT_MS: '500', HEALTH_DATABASE_TIMEOUT_MS: '1000' },
      'health',
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it('reports liveness, and readiness with the numbers of each check', async () => {
    expect((await request(t.http).get('/health/live')).body).toMatchObject({ status: 'ok' });
    const ready = await request(t.http).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details).toMatchObject({
      database: { status: 'up', latencyMs: expect.any(Number) },
      migrations: { status: 'up', pending: 0 },
      listener: { status: 'up' },
      allVisibility: { status: 'up', lagSeconds: expect.any(Number), maxLagSeconds: 60 },
      subscriptions: { status: 'up', count: 0, maxLag: 0, failed: 0, dead: 0 },
    });
    expect((await request(t.http).get('/health')).status).toBe(200);
  });

  it('goes down when the database stops answering, and up when it returns', async () => {
    await t.proxy.cut();
    const down = await request(t.http).get('/health/ready');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'error', details: { database: { status: 'down' } } });
    // The driver's own text ("connect ECONNREFUSED ...") is kept as the reason, never the message.
    expect(down.body.details.migrations).toMatchObject({ status: 'down', message: expect.not.stringMatching(RAW_DRIVER_TEXT) });
    expect((await request(t.http).get('/health/live')).status).toBe(200);
    await t.proxy.restore();
    await eventually(async () => (await request(t.http).get('/health/ready')).status === 200, 10_000);
  });
});
