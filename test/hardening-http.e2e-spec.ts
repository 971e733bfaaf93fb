import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { eventually } from './helpers/eventually.js';
import { listeningUrl, openEventStream } from './helpers/sse-client.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';
import { freePort, runService } from './helpers/service-process.js';

/** A raw TCP connection to the service, for what an HTTP client would not send. */
interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Settles with the milliseconds from connecting until the server closed the connection. */
  closed: Promise<number>;
}

function rawConnection(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined); // a reset shows as `closed`; the assertions say what was expected
    socket.once('connect', () => resolve({ socket, received: () => received, closed }));
    socket.once('error', reject);
  });
}

/** The status, headers and JSON body of the first response in `text`. */
function parseResponse(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4, end + 4 + length);
  return { status: Number(statusLine.split(' ')[1]), headers, body: body === '' ? undefined : JSON.parse(body) };
}

/** Whichever comes first: `promise`, or `undefined` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const portOf = (base: string): number => Number(new URL(base).port);

const ERROR_BODY = { statusCode: expect.any(Number), code: expect.any(String), message: expect.any(String), details: expect.any(Object) };

describe('HTTP hardening: timeouts, connection cap, protocol errors', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp(
      {
        HTTP_HEADERS_TIMEOUT_MS: '1000',
        HTTP_REQUEST_TIMEOUT_MS: '1500',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
        SSE_HEARTBEAT_MS: '60000', // a quiet stream: nothing but its events crosses the socket
      },
      'hardhttp',
    );
    port = portOf(await listeningUrl(t.http));
  });
  afterAll(async () => {
    await t.close();
  });

  it('cuts a body that comes a byte at a time once HTTP_REQUEST_TIMEOUT_MS has passed, with a 408 error body', async () => {
    const connection = await rawConnection(port);
    connection.socket.write('POST /streams/slow-1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    connection.socket.write('Transfer-Encoding: chunked\r\n\r\n');
    const drip = setInterval(() => connection.socket.write('1\r\n \r\n'), 250);
    try {
      const closedAfter = await within(connection.closed, 5_000);
      expect(closedAfter).toBeDefined();
      expect(closedAfter).toBeGreaterThanOrEqual(1_400);
      expect(closedAfter).toBeLessThan(3_500); // the limit plus the server's one-second check
      const response = parseResponse(connection.received());
      expect(response.status).toBe(408);
      expect(response.body).toEqual({
        statusCode: 408,
        code: 'HTTP_ERROR',
        message: expect.stringContaining('HTTP_REQUEST_TIMEOUT_MS'),
        details: { headersTimeoutMs: 1000, requestTimeoutMs: 1500 },
      });
    } finally {
      clearInterval(drip);
      connection.socket.destroy();
    }
  });

  it('cuts a body whose declared length never arrives, and headers that never end', async () => {
    const body = await rawConnection(port);
    body.socket.write('PUT /streams/slow-2/metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    const headers = await rawConnection(port);
    headers.socket.write('GET /streams HTTP/1.1\r\nHost: x\r\n');
    const [bodyClosed, headersClosed] = await Promise.all([within(body.closed, 5_000), within(headers.closed, 5_000)]);
    expect(bodyClosed).toBeLessThan(3_500);
    expect(headersClosed).toBeLessThan(3_000);
    expect(parseResponse(body.received()).status).toBe(408);
    expect(parseResponse(headers.received()).body).toMatchObject({ statusCode: 408, code: 'HTTP_ERROR' });
  });

  it('closes a kept-alive connection left idle for HTTP_KEEP_ALIVE_TIMEOUT_MS, and one that never sends a request', async () => {
    const kept = await rawConnection(port);
    kept.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => kept.received().includes('"status":"ok"'), 2_000);
    expect(parseResponse(kept.received()).headers['keep-alive']).toBe('timeout=1');
    const answeredAt = Date.now();
    expect(await within(kept.closed, 5_000)).toBeDefined();
    // Node keeps the socket a second longer than it announces, so that clients close first.
    expect(Date.now() - answeredAt).toBeLessThan(3_000);
    const silent = await rawConnection(port);
    expect(await within(silent.closed, 5_000)).toBeLessThan(3_000);
    expect(silent.received()).toBe(''); // nothing was asked: nothing is answered
  });

  it('keeps an event stream open well past every timeout, and delivers on it', async () => {
    const stream = await openEventStream(`http://127.0.0.1:${port}/streams/sse-long-1/subscribe`);
    try {
      expect(stream.status).toBe(200);
      await sleep(4_000); // past the request, headers and keep-alive timeouts
      expect(stream.ended).toBe(false);
      const append = await request(t.http)
        .post('/streams/sse-long-1/events')
        .send({ expectedVersion: 'any', events: [{ eventType: 'Scored', data: { n: 1 } }] });
      expect(append.status).toBe(201);
      expect(await stream.take(1)).toEqual([expect.objectContaining({ streamId: 'sse-long-1', streamVersion: 1 })]);
      expect(stream.ended).toBe(false);
    } finally {
      stream.close();
    }
  });

  it('answers a garbage request line, bad bytes in the URL and oversized headers with the error body', async () => {
    const exchange = async (text: string) => {
      const connection = await rawConnection(port);
      connection.socket.write(text);
      await within(connection.closed, 3_000);
      connection.socket.destroy();
      return parseResponse(connection.received());
    };
    const garbage = await exchange('GARBAGE\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(garbage.headers['content-type']).toMatch(/^application\/json/);
    expect(garbage.body).toEqual({ ...ERROR_BODY, statusCode: 400, code: 'INVALID_ARGUMENT' });
    const badUrl = await exchange('GET /streams/a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(badUrl.body).toEqual({ ...ERROR_BODY, statusCode: 400, code: 'INVALID_ARGUMENT' });
    const overflow = await exchange(`GET /streams HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(overflow.status).toBe(431);
    expect(overflow.body).toEqual({
      statusCode: 431,
      code: 'HTTP_ERROR',
      message: expect.stringMatching(/headers/i),
      details: { limitBytes: http.maxHeaderSize },
    });
  });
});

describe('HTTP hardening: connection cap', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ HTTP_MAX_CONNECTIONS: '3' }, 'hardcap');
  });
  afterAll(async () => {
    await t.close();
  });

  it('closes connections past HTTP_MAX_CONNECTIONS at once, and accepts again once one is gone', async () => {
    const port = portOf(await listeningUrl(t.http));
    const open = await Promise.all([1, 2, 3].map(() => rawConnection(port)));
    await sleep(100);
    const extra = await rawConnection(port);
    expect(await within(extra.closed, 1_000)).toBeDefined();
    open[0].socket.destroy();
    await open[0].closed;
    await sleep(100);
    const again = await rawConnection(port);
    again.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => again.received().includes('"status":"ok"'), 2_000);
    [...open, again].forEach((connection) => connection.socket.destroy());
  });
});

/** One kept-alive connection, as a pooled HTTP client has it: an agent of one socket. */
interface Answer {
  status?: number;
  code?: string;
  connection?: string;
  /** Whether the request went on a connection opened before (not a new one). */
  reused: boolean;
  error?: string;
}

function client(port: number): (path?: string) => Promise<Answer> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return (path = '/health/live') =>
    new Promise((resolve) => {
      const outgoing = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const body = JSON.parse(text) as { code?: string };
          resolve({ status: response.statusCode, code: body.code, connection: response.headers.connection, reused: outgoing.reusedSocket });
        });
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ error: error.code ?? error.message, reused: outgoing.reusedSocket }),
      );
    });
}

describe('HTTP hardening: the answers during shutdown (the real process, SIGTERM)', () => {
  const connection = testConnection();
  const schema = uniqueSchema('hardstop');
  const env = async (): Promise<Record<string, string>> => ({
    PORT: String(await freePort()),
    ...testDatabaseEnv(schema),
  });
  afterAll(async () => {
    const sql = new pg.Pool({ ...connection, max: 1 });
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });

  /** Whether a new connection is refused: the service has stopped listening. */
  const refused = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });

  it('answers requests on kept-alive connections after SIGTERM with 503 SHUTTING_DOWN and Connection: close', async () => {
    const variables = await env();
    const port = Number(variables.PORT);
    const service = runService(variables);
    try {
      await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
      const clients = [1, 2, 3, 4, 5].map(() => client(port));
      for (const ask of clients) expect(await ask()).toMatchObject({ status: 200, reused: false });
      service.stop();
      await eventually(() => refused(port), 5_000);
      const answers = await Promise.all(clients.map((ask) => ask('/streams')));
      expect(answers).toEqual(clients.map(() => ({ status: 503, code: 'SHUTTING_DOWN', connection: 'close', reused: true })));
      expect((await service.exited).code).toBe(0);
    } finally {
      service.stop();
    }
  });

  it('answers every request racing the SIGTERM on an open connection: normally or 503, never a reset', async () => {
    const variables = await env();
    const port = Number(variables.PORT);
    const service = runService(variables);
    try {
      await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
      const clients = Array.from({ length: 52 }, () => client(port));
      for (const ask of clients) await ask();
      const answers: Answer[] = [];
      // Each client asks again as soon as it has its answer, until the service says it is going.
      const loops = clients.map(async (ask) => {
        for (;;) {
          const answer = await ask();
          answers.push(answer);
          if (answer.status !== 200) return;
        }
      });
      await sleep(50);
      service.stop();
      await within(Promise.all(loops), 10_000);
      // Each client's connection was open before the SIGTERM and is closed only after a 503 with
      // `Connection: close`, so none of these requests went on a new connection (which could be refused).
      expect(answers.filter((answer) => answer.error !== undefined || !answer.reused)).toEqual([]);
      expect(answers.filter((answer) => answer.status !== 200)).toEqual(
        clients.map(() => ({ status: 503, code: 'SHUTTING_DOWN', connection: 'close', reused: true })),
      );
      expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThan(52);
      expect((await service.exited).code).toBe(0);
    } finally {
      service.stop();
    }
  });
});
