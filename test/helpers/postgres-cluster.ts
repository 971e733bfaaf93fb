import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './service-process.js';

const run = promisify(execFile);

/**
 * The directory of the PostgreSQL server binaries: `POSTGRES_BIN_DIR`, or the newest version
 * installed under `/usr/lib/postgresql` (Debian's layout).
 */
export function postgresBinDir(): string {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql')
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('No PostgreSQL server binaries: install postgresql, or set POSTGRES_BIN_DIR');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** How the cluster runs. */
const SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'max_connections = 200',
  // Only processes are killed here, never the machine: what a server wrote is in the page cache
  // and survives, so syncing to disk would only slow the run (and crash recovery, which syncs the
  // whole data directory first).
  'fsync = off',
  'full_page_writes = off',
  "log_line_prefix = '%m [%p] %a '",
];

/**
 * A PostgreSQL cluster of the test's own, on a free port of 127.0.0.1, in a temporary directory,
 * run by the `postgres` user (through `runuser` when the tests run as root), so that a test may
 * restart it, SIGKILL its postmaster, and start it again without touching any other server.
 * Logins are trusted (loopback only).
 */
export class PostgresCluster {
  private constructor(
    /** The temporary directory: the data directory, the socket and the server log. */
    readonly root: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** The data directory. */
  get dataDir(): string {
    return join(this.root, 'data');
  }

  /** The server's log. */
  get logFile(): string {
    return join(this.root, 'postgres.log');
  }

  /** Where a client connects (as the superuser). */
  get connection(): { host: string; port: number; user: string; password: string; database: string } {
    return { host: '127.0.0.1', port: this.port, user: 'postgres', password: 'postgres', database: 'postgres' };
  }

  /** Creates the cluster (initdb) and starts it. */
  static async start(): Promise<PostgresCluster> {
    const root = await mkdtemp(join(tmpdir(), 'event-store-faults-'));
    const cluster = new PostgresCluster(root, await freePort(), postgresBinDir());
    try {
      if (process.getuid?.() === 0) {
        const { stdout } = await run('id', ['-u', 'postgres']);
        const { stdout: group } = await run('id', ['-g', 'postgres']);
        await chown(root, Number(stdout.trim()), Number(group.trim()));
      }
      await cluster.pg('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      const settings = [...SETTINGS, `port = ${cluster.port}`, `unix_socket_directories = '${root}'`];
      const conf = join(cluster.dataDir, 'postgresql.conf');
      await writeFile(conf, `${await readFile(conf, 'utf8')}\n${settings.join('\n')}\n`);
      await cluster.startServer();
      return cluster;
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
  }

  /**
   * Starts the server (`pg_ctl start`), waiting until it accepts connections. After a SIGKILL the
   * old postmaster may linger as a zombie until it is reaped, and the server refuses to start while
   * its pid is alive: it is tried again until `timeoutMs`.
   */
  async startServer(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.pg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '30', 'start']);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  }

  /** `pg_ctl restart -m fast`: sessions are ended, the server stops and starts again. */
  async restart(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '30', '-m', 'fast', 'restart']);
  }

  /** The postmaster's pid, from `postmaster.pid`. */
  async postmasterPid(): Promise<number> {
    const [pid] = (await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    return Number(pid);
  }

  /**
   * SIGKILL of the postmaster. Its children notice and exit on their own (PostgreSQL's postmaster
   * death handling); resolves once they have, so that the server can be started again.
   */
  async killPostmaster(): Promise<number> {
    const pid = await this.postmasterPid();
    const children = await childrenOf(pid);
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while ([pid, ...children].some(isRunning) && Date.now() < deadline) {
      await sleep(20);
    }
    return pid;
  }

  /** Whether the server accepts connections (`pg_isready`). */
  async isReady(): Promise<boolean> {
    try {
      await run(join(this.bin, 'pg_isready'), [
        '-q',
        '-h',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-t',
        '1',
      ]);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the server at once (`pg_ctl stop -m immediate`), and SIGKILLs whatever is left of it. */
  async stop(): Promise<void> {
    const pid = existsSync(join(this.dataDir, 'postmaster.pid')) ? await this.postmasterPid().catch(() => 0) : 0;
    const children = pid > 0 ? await childrenOf(pid) : [];
    await this.pg('pg_ctl', ['-D', this.dataDir, '-w', '-t', '10', '-m', 'immediate', 'stop']).catch(() => undefined);
    for (const leftover of [pid, ...children].filter((p) => p > 0 && isRunning(p))) {
      try {
        process.kill(leftover, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    if (existsSync(this.dataDir)) await this.stop();
    await rm(this.root, { recursive: true, force: true });
  }

  /** Runs one of the server's programs as the `postgres` user. */
  private async pg(program: string, args: string[]): Promise<void> {
    const binary = join(this.bin, program);
    const [command, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
    await run(command, argv, { cwd: this.root, timeout: 60_000 });
  }
}

/** The pids of a process's children. */
async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await run('ps', ['--ppid', String(pid), '-o', 'pid=']).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((child) => child > 0);
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // reaped meanwhile
  }
}

/**
 * Whether {@link postgresBinDir}'s `pg_dump` can dump the server at `connection`: pg_dump refuses a
 * server of a newer major version (the embedded PostgreSQL 18 beside Debian's 15, whose package
 * ships no pg_dump). Tests of a dump and restore skip, saying so, where it cannot. It asks the
 * server's `postgres` database: the test database is made by the first store a test opens, which
 * may not have happened yet when a test file's top level calls this.
 */
export async function dumpToolsFit(connection: pg.ClientConfig): Promise<boolean> {
  const client = new pg.Client({ ...connection, database: 'postgres' });
  await client.connect();
  try {
    const server = Math.floor(
      Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000,
    );
    const tools = Number(/(\d+)\.\d+/.exec(execFileSync(join(postgresBinDir(), 'pg_dump'), ['--version'], { encoding: 'utf8' }))![1]);
    if (tools >= server) return true;
    console.warn(`pg_dump ${tools} cannot dump PostgreSQL ${server}: the dump and restore tests are skipped on this server`);
    return false;
  } finally {
    await client.end();
  }
}
