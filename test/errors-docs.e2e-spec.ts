import { HttpStatus } from '@nestjs/common';
import { IsInt, Min } from 'class-validator';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import ts from 'typescript';
import { EventStore, EventStoreErrorCode, EventStoreModule, EventType } from '@game-bot/event-store';
import { EVENT_STORE_ERROR_STATUS } from '@game-bot/event-store/http';
import { MetricsService } from '../apps/event-store-service/src/metrics/metrics.service.js';
import { codeBlocks, curlRequests, send, shellComments, type Answer, type CurlRequest } from './helpers/doc-commands.js';
import { eventually } from './helpers/eventually.js';
import { readDoc, sections, type MarkdownSection } from './helpers/markdown-doc.js';
import { freePort, runService } from './helpers/service-process.js';
import { listeningUrl, openEventStream } from './helpers/sse-client.js';
import { createTestApp, createTestAppBehindProxy, type TestApp } from './helpers/test-app.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';

@EventType('PointsScored', { version: 2, upcasters: { 1: (data) => ({ ...data, bonus: 0 }) } })
class PointsScored {
  @IsInt() @Min(0) points!: number;
  @IsInt() bonus = 0;
}

/** One `### \`CODE\` (statuses)` section of docs/errors.md, with its examples: a shell block and the answer shown after it. */
interface DocumentedCode {
  code: string;
  statuses: number[];
  section: MarkdownSection;
  examples: Array<{ shell: string; answer: string; language: string }>;
}

const SERVICE_SOURCE = 'apps/event-store-service/src';
const HOST_APP = 'a host app serving the service';
/** The codes that only end an event stream: an SSE `close` event, no HTTP status. */
const STREAM_CLOSE_CODES = new Set(['SLOW_CONSUMER']);

const documented = documentedCodes(readDoc('errors.md'));

/** docs/errors.md against the error classes, the status table, the service's own codes, and real answers. */
describe('docs/errors.md', () => {
  it('has every code of the library with the status the exception filter gives it', () => {
    const wrong = Object.values(EventStoreErrorCode).flatMap((code) => {
      const statuses = documented.get(code)?.statuses;
      return statuses?.length === 1 && statuses[0] === EVENT_STORE_ERROR_STATUS[code]
        ? []
        : [`${code}: HTTP ${EVENT_STORE_ERROR_STATUS[code]}, documented ${statuses?.join(', ') ?? 'nowhere'}`];
    });
    expect(wrong).toEqual([]);
  });

  it('has an error class in errors/ for each code, and a section for each class', () => {
    const classes = errorClassCodes();
    expect(classes.size).toBeGreaterThan(10);
    expect([...classes.values()].sort()).toEqual(Object.values(EventStoreErrorCode).sort());
    expect([...classes.values()].filter((code) => !documented.has(code))).toEqual([]);
  });

  it('has every code of the service with its status, and no code that nothing raises', () => {
    const raised = serviceCodes();
    const wrong = raised.flatMap(({ code, status, file }) => {
      const entry = documented.get(code);
      if (entry === undefined) return [`${code} (${file}) is not documented`];
      if (status !== undefined && !entry.statuses.includes(status))
        return [`${code} (${file}): HTTP ${status}, documented ${entry.statuses.join(', ')}`];
      return [];
    });
    expect(wrong).toEqual([]);
    const known = new Set([...Object.values(EventStoreErrorCode), ...raised.map((entry) => entry.code)]);
    expect([...documented.keys()].filter((code) => !known.has(code))).toEqual([]);
  });

  it("gives example bodies whose code and status agree with their section and with the filter's table", () => {
    const wrong = [...documented.values()].flatMap(({ code, statuses, examples }) => {
      if (examples.length === 0) return [`${code}: no example`];
      return examples.flatMap(({ answer, language }) => {
        const body = exampleBody(answer, language);
        const tableStatus = (EVENT_STORE_ERROR_STATUS as Record<string, number>)[code];
        const agrees =
          body.code === code &&
          (STREAM_CLOSE_CODES.has(code) ? body.statusCode === undefined : statuses.includes(body.statusCode as number)) &&
          (tableStatus === undefined || body.statusCode === tableStatus) &&
          Object.keys(body).sort().join() === (STREAM_CLOSE_CODES.has(code) ? 'code,details,message' : 'code,details,message,statusCode');
        return agrees ? [] : [`${code}: ${JSON.stringify(body)}`];
      });
    });
    expect(wrong).toEqual([]);
  });

  it('summarises each code with the status of its section', () => {
    const summary = [...readDoc('errors.md').matchAll(/^\| \[`([A-Z_]+)`\]\(#[^)]+\) \| ([^|]+) \|/gm)];
    expect(summary.map(([, code]) => code)).toEqual([...documented.keys()]);
    const wrong = summary.filter(([, code, status]) => status!.trim() !== statusText(documented.get(code!)!));
    expect(wrong.map(([line]) => line)).toEqual([]);
  });

  describe('shows what the service really answers', () => {
    let apps: AppCache;
    beforeAll(() => {
      apps = new AppCache();
    });
    afterAll(async () => {
      await apps.closeAll();
    });

    // The codes whose reproduction needs a step that a curl command cannot take: SQL behind the
    // store's back, a cut connection, raw bytes, a signal, a second connection held open.
    const reproductions: Record<string, (shell: string) => Promise<unknown>> = {
      CORRUPTED_EVENT: async (shell) => {
        const t = await apps.hostApp();
        const [append, read] = curlRequests(shell) as [CurlRequest, CurlRequest];
        await send(t, append);
        await sql(`BEGIN; SET LOCAL session_replication_role = replica;
          UPDATE "${t.schema}".events SET data = '{"points": 500, "bonus": 0}' WHERE stream_id = 'score-2'; COMMIT`);
        return (await send(t, read)).body;
      },
      STORE_UNAVAILABLE: async (shell) => {
        const t = await createTestAppBehindProxy(environmentOf(shell), 'errdoc-cut');
        try {
          await t.proxy.cut();
          return (await send(t, curlRequests(shell)[0]!)).body;
        } finally {
          await t.close();
        }
      },
      TIMEOUT: async (shell) => {
        const t = await apps.withEnvironment(environmentOf(shell));
        await t.app.get(EventStore).appendToStream('game-6', 'any', [{ eventType: 'GameStarted', data: {} }]);
        return withStreamRowLocked(t.schema, 'game-6', async () => (await send(t, curlRequests(shell)[0]!)).body);
      },
      HTTP_ERROR: async () => {
        const t = await apps.plain();
        return JSON.parse(await rawExchange(t, `GET /streams HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`));
      },
      INTERNAL: async (shell) => {
        const t = await apps.plain();
        await sql(`ALTER TABLE "${t.schema}".webhooks RENAME TO webhooks_gone`);
        try {
          return (await send(t, curlRequests(shell)[0]!)).body;
        } finally {
          await sql(`ALTER TABLE "${t.schema}".webhooks_gone RENAME TO webhooks`);
        }
      },
      SUBSCRIPTION_NOT_STARTED: async (shell) => {
        const t = await apps.withEnvironment(environmentOf(shell));
        await sql(`INSERT INTO "${t.schema}".webhooks (name, url, secret, filter, start_from, options)
          VALUES ('late', 'http://localhost:4000/hooks/late', 'a-secret-of-20-chars', '{}', 'origin', '{}')`);
        return (await send(t, curlRequests(shell)[0]!)).body;
      },
      SHUTTING_DOWN: async () => shuttingDownAnswer(),
      TOO_MANY_STREAMS: async (shell) => {
        const t = await apps.withEnvironment(environmentOf(shell));
        const open = await openEventStream(`${await listeningUrl(t.http)}/all/subscribe`);
        try {
          return (await send(t, curlRequests(shell)[0]!)).body;
        } finally {
          open.close();
        }
      },
      SLOW_CONSUMER: async (shell) => slowConsumerReason(await apps.withEnvironment(environmentOf(shell))),
    };

    it.each([...documented.values()].flatMap((entry) => entry.examples.map((example, index) => ({ entry, example, index }))))(
      '$entry.code, example $index',
      async ({ entry, example }) => {
        const custom = reproductions[entry.code];
        const actual = custom !== undefined ? await custom(example.shell) : await answerOf(apps, example.shell);
        expect(normalized(actual)).toEqual(normalized(exampleBody(example.answer, example.language)));
      },
    );
  });
});

/** The environment a shell block's comment gives the service: `VAR=value` pairs, and `VAR unset`. */
function environmentOf(shell: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const comment of shellComments(shell)) {
    for (const [, name, value] of comment.matchAll(/\b([A-Z][A-Z0-9_]+)=([^\s,;]+)/g)) environment[name!] = value!;
    for (const [, name] of comment.matchAll(/\b([A-Z][A-Z0-9_]+) unset\b/g)) environment[name!] = '';
  }
  return environment;
}

/** Runs a shell block's requests, on the app its comment names; the last one's body. */
async function answerOf(apps: AppCache, shell: string): Promise<unknown> {
  const host = shellComments(shell).some((comment) => comment.startsWith(HOST_APP));
  const t = host ? await apps.hostApp() : await apps.withEnvironment(environmentOf(shell));
  let answer: Answer | undefined;
  for (const curl of curlRequests(shell)) answer = await send(t, curl);
  if (answer === undefined) throw new Error(`No curl command in:\n${shell}`);
  return answer.body;
}

/** The test apps, one per configuration, in a fresh schema each, so that positions and versions are the doc's. */
class AppCache {
  private readonly apps = new Map<string, Promise<TestApp>>();

  plain(): Promise<TestApp> {
    return this.withEnvironment({});
  }

  withEnvironment(environment: Record<string, string>): Promise<TestApp> {
    return this.get(JSON.stringify(environment), () => createTestApp(environment, 'errdoc'));
  }

  hostApp(): Promise<TestApp> {
    return this.get('host', () =>
      createTestApp({}, 'errdoc-host', {
        imports: [EventStoreModule.forFeature([PointsScored])],
        eventStore: { unregisteredEventTypes: 'reject' },
      }),
    );
  }

  async closeAll(): Promise<void> {
    for (const app of this.apps.values()) await (await app).close();
  }

  private get(key: string, create: () => Promise<TestApp>): Promise<TestApp> {
    if (!this.apps.has(key)) this.apps.set(key, create());
    return this.apps.get(key)!;
  }
}

function documentedCodes(markdown: string): Map<string, DocumentedCode> {
  const codes = new Map<string, DocumentedCode>();
  for (const section of sections(markdown, 3)) {
    const heading = /^`([A-Z_]+)` \(([^)]+)\)$/.exec(section.heading);
    if (heading === null) continue;
    const statuses = [...heading[2]!.matchAll(/\b\d{3}\b/g)].map(([status]) => Number(status));
    const blocks = codeBlocks(section.text);
    const examples = blocks.flatMap((block, i) => {
      const next = blocks[i + 1];
      return block.language === 'bash' && next !== undefined && (next.language === 'json' || next.language === 'text')
        ? [{ shell: block.text, answer: next.text, language: next.language }]
        : [];
    });
    codes.set(heading[1]!, { code: heading[1]!, statuses, section, examples });
  }
  return codes;
}

/** An example's body: the JSON block, or the `data:` line of an SSE `close` event. */
function exampleBody(answer: string, language: string): Record<string, unknown> {
  const json = language === 'text' ? (/^data: (.*)$/m.exec(answer)?.[1] ?? '') : answer;
  return JSON.parse(json) as Record<string, unknown>;
}

function statusText(entry: DocumentedCode): string {
  return STREAM_CLOSE_CODES.has(entry.code) ? 'none (SSE `close`)' : entry.statuses.join(', ');
}

/**
 * What differs from run to run: generated event ids, timestamps, the port of the cut-off proxy,
 * and how many bytes waited for a slow client when it was cut off.
 */
function normalized(body: unknown): unknown {
  return JSON.parse(
    JSON.stringify(body)
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      .replace(/ECONNREFUSED [\d.]+:\d+/g, 'ECONNREFUSED <address>')
      .replace(/while \d+ bytes waited/g, 'while <n> bytes waited')
      .replace(/"bufferedBytes":\d+/g, '"bufferedBytes":"<n>"'),
  );
}

/** The code of each error class in `errors/`, by class name. */
function errorClassCodes(): Map<string, string> {
  const directory = 'libs/event-store/src/errors';
  const byName = new Map(Object.entries(EventStoreErrorCode));
  const codes = new Map<string, string>();
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.error.ts'))) {
    const text = readFileSync(join(directory, file), 'utf8');
    const match = /export class (\w+) extends EventStoreError[\s\S]*?readonly code = EventStoreErrorCode\.(\w+)/.exec(text);
    if (match !== null) codes.set(match[1]!, byName.get(match[2]!) ?? `unknown ${match[2]}`);
  }
  return codes;
}

/**
 * The codes the service raises itself, with their status where the code says it: `new
 * ServiceError(HttpStatus.X, 'CODE', ...)`, and error bodies and close reasons written as object
 * literals (`{ statusCode, code: 'CODE', ... }`, a ternary of codes included).
 */
function serviceCodes(): Array<{ code: string; status?: number; file: string }> {
  const found: Array<{ code: string; status?: number; file: string }> = [];
  for (const file of sourceFiles(SERVICE_SOURCE)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && node.expression.getText(source) === 'ServiceError') {
        const [status, code] = node.arguments ?? [];
        if (code !== undefined && ts.isStringLiteral(code)) found.push({ code: code.text, status: statusOf(status, source), file });
      }
      if (ts.isObjectLiteralExpression(node)) {
        const property = (name: string) =>
          node.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(source) === name);
        const code = property('code');
        const status = statusOf(property('statusCode')?.initializer, source);
        for (const literal of code === undefined ? [] : codeLiterals(code.initializer)) found.push({ code: literal, status, file });
      }
      if (ts.isVariableDeclaration(node) && node.name.getText(source) === 'code' && node.initializer !== undefined) {
        for (const literal of codeLiterals(node.initializer)) found.push({ code: literal, file });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

function codeLiterals(node: ts.Node): string[] {
  if (ts.isStringLiteral(node)) return /^[A-Z][A-Z_]+$/.test(node.text) ? [node.text] : [];
  if (ts.isConditionalExpression(node)) return [...codeLiterals(node.whenTrue), ...codeLiterals(node.whenFalse)];
  return [];
}

function statusOf(node: ts.Node | undefined, source: ts.SourceFile): number | undefined {
  if (node === undefined) return undefined;
  if (ts.isNumericLiteral(node)) return Number(node.text);
  const name = /^HttpStatus\.(\w+)$/.exec(node.getText(source))?.[1];
  return name === undefined ? undefined : (HttpStatus as unknown as Record<string, number>)[name];
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

async function sql(text: string): Promise<void> {
  const pool = new pg.Pool({ ...testConnection(), max: 1 });
  try {
    await pool.query(text);
  } finally {
    await pool.end();
  }
}

/** Runs `work` while another session holds the stream's row lock, as a long transaction would. */
async function withStreamRowLocked<T>(schema: string, streamId: string, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client(testConnection());
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT 1 FROM "${schema}".streams WHERE stream_id = $1 FOR UPDATE`, [streamId]);
    return await work();
  } finally {
    await client.query('ROLLBACK');
    await client.end();
  }
}

/** Sends raw bytes to the app's server and returns the body of its answer. */
async function rawExchange(t: TestApp, bytes: string): Promise<string> {
  const port = Number(new URL(await listeningUrl(t.http)).port);
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => resolve(received.slice(received.indexOf('\r\n\r\n') + 4)));
    socket.on('error', reject);
  });
}

/** The answer of the built service, after SIGTERM, to a request on a connection opened before. */
async function shuttingDownAnswer(): Promise<unknown> {
  const port = await freePort();
  const schema = uniqueSchema('errdoc-stop');
  const service = runService({ ...testDatabaseEnv(schema), PORT: String(port), SHUTDOWN_DRAIN_MS: '3000' });
  try {
    await eventually(() => service.output().includes('listening on http://localhost'), 60_000);
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const answers = answersOn(socket);
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => answers.length === 1, 10_000);
    service.stop();
    await eventually(() => refused(port), 5_000);
    socket.write('GET /streams HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => answers.length === 2, 10_000);
    socket.destroy();
    return JSON.parse(answers[1]!);
  } finally {
    service.stop();
    await service.exited;
    await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}

/** The bodies of the answers that arrive on a kept-alive socket (Content-Length framed). */
function answersOn(socket: net.Socket): string[] {
  const answers: string[] = [];
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? -1);
      if (end < 0 || length < 0 || buffer.length < end + 4 + length) return;
      answers.push(buffer.slice(end + 4, end + 4 + length));
      buffer = buffer.slice(end + 4 + length);
    }
  });
  return answers;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** The reason an event stream is closed with when its client stops reading. */
async function slowConsumerReason(t: TestApp): Promise<unknown> {
  const store = t.app.get(EventStore);
  const payload = 'x'.repeat(32_000);
  for (let batch = 0; batch < 4; batch += 1) {
    await store.appendToStream(
      'flood',
      'any',
      Array.from({ length: 100 }, (_, i) => ({ eventType: 'Flooded', data: { n: batch * 100 + i, payload } })),
    );
  }
  const client = await openEventStream(`${await listeningUrl(t.http)}/streams/flood/subscribe`);
  client.pause(); // kernel buffers fill, then the server's, then the server gives up on it
  const disconnects = t.app.get(MetricsService).sseDisconnects;
  const slow = async () => (await disconnects.get()).values.some((value) => value.labels.reason === 'SLOW_CONSUMER');
  await eventually(slow, 30_000);
  client.resume();
  await eventually(() => client.ended, 20_000);
  const last = client.messages.at(-1)!;
  expect(last.event).toBe('close');
  return JSON.parse(last.data);
}
