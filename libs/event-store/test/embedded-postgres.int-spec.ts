import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Test } from '@nestjs/testing';
import { EventStoreModule, StoreUnavailableError } from '@game-bot/event-store';
import { checkServerCanRun, EmbeddedPostgresServer, EventStorageModule } from '@game-bot/event-store/internal';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents } from '../../../test/helpers/test-store.js';

/** A Node process standing for a host app: it starts the server and stops it on SIGINT/SIGTERM. */
const HOST_SCRIPT = 'test/helpers/embedded-postgres-host.mjs';
/**
 * The compiled module the host process imports (`npm test` builds it first). The one place to
 * change when the build layout moves; EMBEDDED_SERVER_MODULE overrides it for a one-off build.
 */
const COMPILED_SERVER = process.env.EMBEDDED_SERVER_MODULE ?? 'libs/event-store/dist/storage/embedded-postgres.server.js';

const onLinux = process.platform === 'linux' ? it : it.skip;

/** The default a new user gets: no database configured, a real PostgreSQL started by the store. */
describe('embedded PostgreSQL', () => {
  const dataDir = resolve(`data/tmp-embedded-${randomBytes(4).toString('hex')}`);
  const hosts: ChildProcess[] = [];
  const postmasters = new Set<number>();

  /** The pid of the postmaster running on `dir`, remembered so that a failed test leaves none behind. */
  function postmasterOf(dir: string): number {
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    postmasters.add(pid);
    return pid;
  }

  /** Starts a host process on `dir` and waits until it reports its server ready. */
  async function startHost(dir: string, options: { ownGroup?: boolean } = {}): Promise<HostProcess> {
    const child = spawn(process.execPath, [HOST_SCRIPT, COMPILED_SERVER, dir], {
      // In a group of its own, as a shell runs a foreground job: Ctrl-C signals that whole group.
      detached: options.ownGroup ?? false,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    hosts.push(child);
    const host = new HostProcess(child);
    await host.waitFor('ready', 60_000);
    postmasterOf(dir);
    return host;
  }

  afterEach(async () => {
    hosts.splice(0).forEach((child) => child.kill('SIGKILL'));
    for (const pid of postmasters) {
      // Still the postmaster of one of this file's clusters, not a process that reused its pid.
      if (isAlive(pid) && commandLineOf(pid).includes(dataDir)) {
        process.kill(pid, 'SIGINT');
        await eventually(() => !isAlive(pid), 10_000);
      }
    }
    postmasters.clear();
  });

  afterAll(async () => {
    for (const suffix of ['', '-stop', '-group', '-killed', '-ctrl-c', '-adopt', '-race']) {
      await rm(`${dataDir}${suffix}`, { recursive: true, force: true });
    }
  });

  it('tells at boot a host that handles neither SIGINT nor SIGTERM that a stop will not close the store in order', async () => {
    const warnings: string[] = [];
    const logger = { log() {}, error() {}, debug() {}, verbose() {}, warn: (message: unknown) => void warnings.push(String(message)) };
    const hooks = ['SIGINT', 'SIGTERM'].map((signal) => [signal, process.listeners(signal as 'SIGINT')] as const);
    hooks.forEach(([signal]) => process.removeAllListeners(signal));
    const moduleRef = await Test.createTestingModule({
      imports: [EventStoreModule.forRoot({ connection: undefined, embedded: { dataDir: `${dataDir}-hooks` } })],
    }).compile();
    try {
      moduleRef.useLogger(logger);
      await moduleRef.init();
      expect(warnings.join('\n')).toMatch(
        /runs on the embedded PostgreSQL but the app does not handle SIGINT\/SIGTERM: call app.enableShutdownHooks\(\)/,
      );
      warnings.length = 0;
      const onSignal = (): void => undefined;
      process.on('SIGTERM', onSignal);
      await moduleRef.get(EventStorageModule).onApplicationBootstrap();
      process.off('SIGTERM', onSignal);
      expect(warnings).toEqual([]);
    } finally {
      hooks.forEach(([signal, listeners]) => listeners.forEach((listener) => process.on(signal as 'SIGINT', listener)));
      await moduleRef.close();
      await rm(`${dataDir}-hooks`, { recursive: true, force: true });
    }
  });

  it("generates the superuser's password per data directory, kept in it: the well-known one is refused", async () => {
    const dir = `${dataDir}-password`;
    const server = new EmbeddedPostgresServer({ dataDir: dir, port: 0 });
    try {
      const connection = await server.start();
      expect(connection.password).not.toBe('postgres');
      expect(connection.password.length).toBeGreaterThanOrEqual(32);
      expect(statSync(join(dir, 'event-store.password')).mode & 0o777).toBe(0o600);
      const wellKnown = new pg.Client({ ...connection, password: 'postgres', database: 'postgres' });
      await expect(wellKnown.connect()).rejects.toMatchObject({ code: '28P01' });
      const adopter = new EmbeddedPostgresServer({ dataDir: dir, port: 0 });
      expect(await adopter.start()).toEqual(connection); // the same server, the same password
      await server.stop();
      const restarted = new EmbeddedPostgresServer({ dataDir: dir, port: 0 });
      const again = await restarted.start();
      expect(again.password).toBe(connection.password);
      const client = new pg.Client({ ...again, database: 'postgres' });
      await client.connect();
      await client.end();
      await restarted.stop();
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts with no connection configured, keeps the data across restarts, and stops with the app', async () => {
    const first = await createTestStore({ connection: undefined, embedded: { dataDir } }, 'embedded');
    await first.store.appendToStream('kept', 'no_stream', someEvents(3));
    await first.app.close();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);

    const second = await createTestStore({ connection: undefined, embedded: { dataDir }, schema: first.schema });
    expect((await second.store.readStreamForward('kept')).map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    await second.store.appendToStream('kept', 3, someEvents(1));
    await second.app.close();
    await Promise.all([first.sql.end(), second.sql.end()]);
  });

  it('a database stopped mid-run gives STORE_UNAVAILABLE; the store recovers when it is back', async () => {
    const server = new EmbeddedPostgresServer({ dataDir: `${dataDir}-stop`, port: 0 });
    const connection = await server.start();
    const t = await createTestStore(
      { connection, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 }, connectionTimeoutMs: 1_000 },
      'stopped',
    );
    try {
      await t.store.appendToStream('s', 'no_stream', someEvents(1));
      await server.stop();
      await expect(t.store.appendToStream('s', 1, someEvents(1))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(t.store.readStreamForward('s')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

      const restarted = new EmbeddedPostgresServer({ dataDir: `${dataDir}-stop`, port: connection.port });
      await restarted.start();
      try {
        await t.store.appendToStream('s', 1, someEvents(1));
        expect(await t.store.readStreamForward('s')).toHaveLength(2);
      } finally {
        await t.app.close();
        await restarted.stop();
      }
    } finally {
      await t.sql.end();
      await server.stop();
    }
  });

  onLinux('runs in a session of its own, listening on 127.0.0.1 only, and passes its log on', async () => {
    const dir = `${dataDir}-group`;
    const log: string[] = [];
    const server = new EmbeddedPostgresServer({ dataDir: dir, port: 0, onLog: (line) => log.push(line) });
    const connection = await server.start();
    try {
      const pid = postmasterOf(dir);
      // The leader of its own process group and session: the terminal's Ctrl-C does not reach it.
      expect(processGroupOf(pid)).toEqual({ pgrp: pid, session: pid });
      expect(processGroupOf(pid)).not.toEqual(processGroupOf(process.pid));
      expect(await query(connection, 'SHOW listen_addresses')).toEqual([{ listen_addresses: '127.0.0.1' }]);
      expect(log.some((line) => line.includes('ready to accept connections'))).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(join(dir, 'postmaster.pid'))).toBe(false);
  });

  it('a host process killed with SIGKILL leaves no server running', async () => {
    const dir = `${dataDir}-killed`;
    const host = await startHost(dir);
    const pid = postmasterOf(dir);
    host.child.kill('SIGKILL');
    await eventually(() => !isAlive(pid) && !existsSync(join(dir, 'postmaster.pid')), 10_000);
  });

  onLinux('Ctrl-C reaches the app only: the database stays up until the app stops it', async () => {
    const dir = `${dataDir}-ctrl-c`;
    const host = await startHost(dir, { ownGroup: true });
    const pid = postmasterOf(dir);
    process.kill(-host.child.pid!, 'SIGINT');
    expect(await host.exitCode()).toBe(0);
    expect(host.messages.map((message) => Object.keys(message)[0])).toEqual(['ready', 'signal', 'queried', 'stopped']);
    expect(isAlive(pid)).toBe(false);
  });

  it('adopts the server another live process runs on its data directory, and leaves it running', async () => {
    const dir = `${dataDir}-adopt`;
    const owner = await startHost(dir);
    const { port } = owner.messages[0] as { port: number };
    const adopter = new EmbeddedPostgresServer({ dataDir: dir, port: 0 });
    const adopted = await adopter.start();
    expect(adopted.port).toBe(port);
    await adopter.stop();
    expect(await query(adopted, 'SELECT 1 AS up')).toEqual([{ up: 1 }]);

    owner.child.kill('SIGTERM');
    expect(await owner.exitCode()).toBe(0);
  });

  it('two processes starting on one fresh data directory at once: one starts it, the other adopts it', async () => {
    const dir = `${dataDir}-race`;
    const [a, b] = [new EmbeddedPostgresServer({ dataDir: dir, port: 0 }), new EmbeddedPostgresServer({ dataDir: dir, port: 0 })];
    try {
      const [first, second] = await Promise.all([a.start(), b.start()]);
      expect(second.port).toBe(first.port);
      expect(existsSync(`${dir}.lock`)).toBe(false);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a start that fails says why, with the server log, and leaves no server behind', async () => {
    const taken = await listenOnAnyPort();
    const port = (taken.address() as { port: number }).port;
    try {
      const server = new EmbeddedPostgresServer({ dataDir, port });
      await expect(server.start()).rejects.toThrow(
        new RegExp(`did not start on port ${port} .*(could not bind IPv4 address|could not create any TCP/IP sockets)`, 's'),
      );
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    } finally {
      taken.close();
    }
  });
});

/** The JSON lines a host process prints (docs in the script). */
class HostProcess {
  readonly messages: Record<string, unknown>[] = [];
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      // The server's Nest logger writes to stdout too.
      if (line.startsWith('{')) this.messages.push(JSON.parse(line) as Record<string, unknown>);
    });
  }

  async waitFor(key: string, timeoutMs: number): Promise<void> {
    await eventually(() => {
      const error = this.messages.find((message) => 'error' in message);
      if (error || this.child.exitCode !== null) throw new Error(`host process failed: ${JSON.stringify(error)}`);
      return this.messages.some((message) => key in message);
    }, timeoutMs);
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }
}

/** Fields 3 on of /proc/<pid>/stat (state, ppid, pgrp, session, …): field 2, the name, may hold spaces. */
function procStat(pid: number): string[] {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function commandLineOf(pid: number): string {
  return existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') : '';
}

function processGroupOf(pid: number): { pgrp: number; session: number } {
  const [, , pgrp, session] = procStat(pid);
  return { pgrp: Number(pgrp), session: Number(session) };
}

/** Whether `pid` runs; a zombie (exited, not yet collected by its new parent) does not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)[0] !== 'Z';
}

async function query(connection: pg.ClientConfig, text: string): Promise<unknown[]> {
  const client = new pg.Client({ ...connection, database: 'postgres' });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('the embedded server user', () => {
  const asRoot = userInfo().uid === 0 ? it : it.skip;

  // As root the server runs as `postgres`: binaries it cannot reach made embedded-postgres's
  // initdb spawn fail with an unhandled 'error' event, which killed the app with no word of why.
  asRoot('refuses binaries the postgres user cannot run, saying what to fix, instead of crashing', async () => {
    const hidden = await mkdtemp(join(tmpdir(), 'es-hidden-'));
    try {
      await mkdir(join(hidden, 'bin'));
      await copyFile('/bin/true', join(hidden, 'bin', 'postgres'));
      await chmod(join(hidden, 'bin', 'postgres'), 0o755);
      await chmod(hidden, 0o700);
      await expect(checkServerCanRun(join(hidden, 'bin', 'postgres'))).rejects.toThrow(
        /runs as the `postgres` system user, which cannot run .*es-hidden-.*\/bin\/postgres \(spawn .* EACCES\): make every directory on that path searchable/,
      );
      await chmod(hidden, 0o755);
      await expect(checkServerCanRun(join(hidden, 'bin', 'postgres'))).resolves.toBeUndefined();
    } finally {
      await rm(hidden, { recursive: true, force: true });
    }
  });
});
