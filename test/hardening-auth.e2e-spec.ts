import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { listeningUrl } from './helpers/sse-client.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { freePort, runService } from './helpers/service-process.js';

const READER = 'reader-token-0123456789';
const WRITER = 'writer-token-0123456789';
const TOKENS = `${READER}:read,${WRITER}:write`;
const FOUR_MIB = 4 * 1024 * 1024;

/** Sends the headers and the first `sent` bytes of a `declared`-byte append; resolves with what came back within `waitMs`. */
async function partialUpload(port: number, headers: string, declared: number, sent: number, waitMs: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST /streams/upload-1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}Content-Length: ${declared}\r\n\r\n`,
  );
  socket.write(`{"expectedVersion":"any","events":[{"eventType":"Scored","data":{"padding":"${'x'.repeat(sent)}`);
  await eventually(() => received.includes('\r\n\r\n{') && received.trimEnd().endsWith('}'), waitMs).catch(() => undefined);
  socket.destroy();
  return received;
}

describe('access control hardening', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ EVENT_STORE_TOKENS: TOKENS, HTTP_BODY_LIMIT_BYTES: String(FOUR_MIB) }, 'hardauth');
  });
  afterAll(async () => {
    await t.close();
  });

  it('checks the token before reading the body: a malformed body without a token is 401, not 400', async () => {
    const response = await request(t.http).post('/streams/auth-order-1/events').set('Content-Type', 'application/json').send('{not json');
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ statusCode: 401, code: 'UNAUTHORIZED', message: expect.any(String), details: {} });
    const forbidden = await request(t.http)
      .post('/streams/auth-order-1/events')
      .set('Authorization', `Bearer ${READER}`)
      .set('Content-Type', 'application/json')
      .send('{not json');
    expect(forbidden.status).toBe(403); // the role too is checked first
    const allowed = await request(t.http)
      .post('/streams/auth-order-1/events')
      .set('Authorization', `Bearer ${WRITER}`)
      .set('Content-Type', 'application/json')
      .send('{not json');
    expect(allowed.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT' });
  });

  it('answers a 4 MiB upload without a token with 401 before the body has come', async () => {
    const port = Number(new URL(await listeningUrl(t.http)).port);
    const started = Date.now();
    const answer = await partialUpload(port, '', FOUR_MIB, 64 * 1024, 3_000); // the other 4 MiB are never sent
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toMatch(/\r\nWWW-Authenticate: Bearer\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('takes the scheme in any case, refuses anything after the token, and says how to authenticate', async () => {
    const lower = await request(t.http).get('/streams').set('Authorization', `bearer ${READER}`);
    expect(lower.status).toBe(200);
    expect((await request(t.http).get('/streams').set('Authorization', `BEARER ${READER}`)).status).toBe(200);
    const junk = await request(t.http).get('/streams').set('Authorization', `Bearer ${READER} junk`);
    expect(junk.status).toBe(401);
    expect(junk.headers['www-authenticate']).toBe('Bearer error="invalid_request"');
    const none = await request(t.http).get('/streams');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const basic = await request(t.http).get('/streams').set('Authorization', `Basic ${READER}`);
    expect(basic.headers['www-authenticate']).toBe('Bearer');
    const unknown = await request(t.http).get('/streams').set('Authorization', 'Bearer not-a-token-we-know-0000');
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    // A 403 is no challenge: the token is known, its role too small.
    const forbidden = await request(t.http).delete('/streams/auth-order-1').set('Authorization', `Bearer ${WRITER}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toBeUndefined();
  });
});

const lines = (output: string): Array<Record<string, unknown>> =>
  output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('access control hardening (the real process)', () => {
  const connection = testConnection();
  const schema = uniqueSchema('hardauthp');
  const database = testDatabaseEnv(schema);
  afterAll(async () => {
    const sql = new pg.Pool({ ...connection, max: 1 });
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });

  it('logs an aborted upload as one line, without a stack trace', async () => {
    const port = await freePort();
    const service = runService({ ...database, PORT: String(port), EVENT_STORE_TOKENS: TOKENS });
    try {
      await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
      const before = lines(service.output()).length;
      for (const headers of [`Authorization: Bearer ${WRITER}\r\n`, '']) {
        await partialUpload(port, headers, FOUR_MIB, 100_000, 300); // then the client goes
      }
      await sleep(300);
      await fetch(`http://127.0.0.1:${port}/health/live`, { headers: { 'X-Request-Id': 'after-the-aborts' } });
      await eventually(() => service.output().includes('after-the-aborts'), 5_000);
      const logged = lines(service.output()).slice(before);
      expect(logged.filter((line) => line.requestId !== 'after-the-aborts')).toEqual([
        expect.objectContaining({ level: 'info', message: 'request', path: '/streams/upload-1/events', completed: false }),
        expect.objectContaining({ level: 'info', message: 'request', path: '/streams/upload-1/events', status: 401 }),
      ]);
    } finally {
      service.stop();
      await service.exited;
    }
  });

  it('warns once at boot when production runs without access control', async () => {
    const port = await freePort();
    const production = { ...database, NODE_ENV: 'production', EVENT_STORE_MIGRATIONS: 'run', PORT: String(port) };
    const open = runService({ ...production, EVENT_STORE_ALLOW_NO_AUTH: 'true' });
    try {
      await eventually(() => open.output().includes('listening on http://localhost'), 60_000);
      const warnings = lines(open.output()).filter((line) => line.level === 'warn');
      expect(warnings).toEqual([expect.objectContaining({ message: expect.stringContaining('EVENT_STORE_ALLOW_NO_AUTH') })]);
    } finally {
      open.stop();
      expect((await open.exited).code).toBe(0);
    }
    const guarded = runService({ ...production, PORT: String(await freePort()), EVENT_STORE_TOKENS: TOKENS });
    try {
      await eventually(() => guarded.output().includes('listening on http://localhost'), 60_000);
      expect(lines(guarded.output()).filter((line) => line.level === 'warn')).toEqual([]);
    } finally {
      guarded.stop();
      await guarded.exited;
    }
  });
});
