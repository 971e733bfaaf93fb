import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresConnectionOptions } from '@game-bot/event-store';
import { freePort } from './service-process.js';

/** A PgBouncer in transaction mode in front of the test server, started by a test and removed by `stop`. */
export interface PgBouncer {
  host: string;
  port: number;
  /** The test server's connection with host and port replaced by PgBouncer's. */
  connection: PostgresConnectionOptions;
  /** PgBouncer's log so far. */
  log(): Promise<string>;
  /** Stops the process and removes its directory. */
  stop(): Promise<void>;
}

/**
 * What PgBouncer needs to be told for the store: `pool_mode = transaction` is the point, the
 * startup parameters are those the store's connections carry (PgBouncer refuses unknown ones), and
 * a small server pool makes many clients share few server sessions, as in production.
 */
const SETTINGS = {
  pool_mode: 'transaction',
  default_pool_size: '4',
  max_client_conn: '1000',
  ignore_startup_parameters: 'statement_timeout, options',
  // No Unix socket: nothing of the test's outside its own directory.
  unix_socket_dir: '',
};

/** Where the `pgbouncer` binary is: on the PATH, or in the sbin directories Debian installs it to. */
export function findPgBouncer(): string | undefined {
  const directories = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return directories
    .filter((directory) => directory.startsWith('/'))
    .map((directory) => join(directory, 'pgbouncer'))
    .find((path) => existsSync(path));
}

/** Options of {@link startPgBouncer}. */
export interface PgBouncerOptions {
  /** The only databases PgBouncer serves (it refuses others, `no such database`). Default: every one. */
  databases?: string[];
}

/**
 * Starts PgBouncer in transaction mode on a free port of 127.0.0.1, in front of `server`, with its
 * own ini file in a fresh temporary directory. PgBouncer refuses to run as root: a root test runs
 * it as the `postgres` user. Fails with the way to install it when the binary is missing.
 */
export async function startPgBouncer(server: PostgresConnectionOptions, options: PgBouncerOptions = {}): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (binary === undefined) {
    throw new Error('pgbouncer is not installed: the PgBouncer tests need it (apt-get install -y pgbouncer)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'pgbouncer-test-'));
  const port = await freePort();
  const owner = process.getuid?.() === 0 ? systemUser('postgres') : undefined;
  await writeConfiguration(dir, port, server, options);
  if (owner !== undefined) {
    await Promise.all(['', 'pgbouncer.ini', 'userlist.txt'].map((file) => chown(join(dir, file), owner.uid, owner.gid)));
  }
  const child = spawn(binary, [join(dir, 'pgbouncer.ini')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...owner });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test process that ends without `stop` (a crash, a timeout) takes PgBouncer with it.
  const orphaned = (): void => void child.kill('SIGKILL');
  process.once('exit', orphaned);
  const log = async (): Promise<string> => output + (await readFile(join(dir, 'pgbouncer.log'), 'utf8').catch(() => ''));
  const stop = async (): Promise<void> => {
    await terminate(child, exited);
    process.removeListener('exit', orphaned);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await listening(port, exited);
  } catch (error) {
    const text = await log();
    await stop();
    throw new Error(`${(error as Error).message}; its output:\n${text}`, { cause: error });
  }
  return { host: '127.0.0.1', port, connection: { ...server, host: '127.0.0.1', port }, log, stop };
}

async function writeConfiguration(dir: string, port: number, server: PostgresConnectionOptions, options: PgBouncerOptions): Promise<void> {
  const settings: Record<string, string> = {
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    // PgBouncer lets the test's user in without a password, and logs in to the server with the
    // password the auth file gives the user.
    auth_type: 'trust',
    auth_file: join(dir, 'userlist.txt'),
    logfile: join(dir, 'pgbouncer.log'),
    ...SETTINGS,
  };
  const ini = [
    '[databases]',
    ...(options.databases ?? ['*']).map((database) => `${database} = host=${server.host} port=${server.port ?? 5432}`),
    '[pgbouncer]',
    ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
  ];
  await writeFile(join(dir, 'pgbouncer.ini'), `${ini.join('\n')}\n`, { mode: 0o600 });
  const quoted = (text: string): string => `"${text.replace(/"/g, '""')}"`;
  await writeFile(join(dir, 'userlist.txt'), `${quoted(server.user ?? 'postgres')} ${quoted(server.password ?? '')}\n`, { mode: 0o600 });
}

/** The uid and gid of a system user. */
function systemUser(name: string): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Resolves once `port` accepts connections; rejects if the process ends first or after 10 s. */
async function listening(port: number, exited: Promise<void>): Promise<void> {
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (ended) throw new Error('pgbouncer exited at start');
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on port ${port} within 10 s`);
    await sleep(50);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM (PgBouncer's immediate shutdown, which closes its server connections), then SIGKILL after 5 s. */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(5_000, false, { ref: false })]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}
