import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchConnection } from './environment.js';
import { describeError } from './harness.js';

/**
 * The compiled service, as `npm run start:prod` runs it; BENCH_SERVICE_MAIN points at another
 * build (another commit's, or an experiment's) to compare them on the same run's terms.
 */
export const SERVICE_MAIN = resolve(process.env.BENCH_SERVICE_MAIN ?? 'dist/apps/event-store-service/src/main.js');
const BOOT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Lines of the service's output shown when something went wrong. */
const KEPT_LINES = 40;

/** The event store service, running as a child process of the benchmark. */
export interface ServiceProcess {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  pid: number;
  /** CPU seconds (user + system) the service has used so far; NaN where /proc is not readable. */
  cpuSeconds(): Promise<number>;
  /** The last lines the service printed (its request logs included). */
  output(): Promise<string[]>;
  /** SIGTERM (its shutdown hooks close the store), SIGKILL if it does not exit in time. */
  stop(): Promise<void>;
}

/** What the service is started with. */
export interface ServiceSettings {
  connection: BenchConnection;
  schema: string;
  poolSize: number;
}

/**
 * Starts `node <SERVICE_MAIN>` on a free port and waits until
 * `GET /health/live` answers. Stopped on failure, and when the benchmark process exits.
 */
export async function startService(settings: ServiceSettings): Promise<ServiceProcess> {
  const port = await freePort();
  // A working directory of its own: the service reads `.env` from there, and a developer's
  // `.env` (tokens, another database) must not change what is measured.
  const workDir = await mkdtemp(join(tmpdir(), 'event-store-bench-service-'));
  // Output to a file, as a deployment's log collector would take it: reading a pipe of one log
  // line per request would cost the benchmark process CPU that the library side does not pay.
  const logFile = join(workDir, 'service.log');
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, [SERVICE_MAIN], {
    cwd: workDir,
    env: serviceEnvironment(settings, port),
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const service: ServiceProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid ?? -1,
    cpuSeconds: () => processCpuSeconds(child.pid),
    output: () => lastLines(logFile),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      await rm(workDir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntilLive(service.baseUrl, child);
    return service;
  } catch (error) {
    // The log goes with the working directory: its tail is what tells why the boot failed.
    const lines = await service.output();
    await service.stop();
    throw new Error(`${describeError(error)}; the service's last lines:\n${lines.join('\n')}`, { cause: error });
  }
}

/**
 * The service's environment: what it needs set explicitly, everything else at its default. The
 * bench's own environment may carry the service's variables (EVENT_STORE_HOST at least, perhaps
 * tokens or a log level), so none of it passes but what a process needs to run.
 */
function serviceEnvironment({ connection, schema, poolSize }: ServiceSettings, port: number): NodeJS.ProcessEnv {
  const { PATH, HOME, TMPDIR, LANG, TZ } = process.env;
  const inherited = Object.entries({ PATH, HOME, TMPDIR, LANG, TZ }).filter(([, value]) => value !== undefined);
  return {
    ...Object.fromEntries(inherited),
    // Development: no tokens needed, migrations applied at boot.
    NODE_ENV: 'development',
    PORT: String(port),
    EVENT_STORE_HOST: connection.host,
    EVENT_STORE_PORT: String(connection.port),
    EVENT_STORE_USER: connection.user,
    EVENT_STORE_PASS: connection.password,
    EVENT_STORE_DB: connection.database,
    EVENT_STORE_SCHEMA: schema,
    EVENT_STORE_POOL_SIZE: String(poolSize),
    EVENT_STORE_SSL: 'false',
    EVENT_STORE_MIGRATIONS: 'run',
  };
}

/** A port nothing listens on right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') {
    throw new Error('could not find a free port');
  }
  return address.port;
}

async function lastLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-KEPT_LINES);
  } catch {
    return [];
  }
}

async function waitUntilLive(baseUrl: string, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + BOOT_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited while booting (code ${child.exitCode ?? child.signalCode})`);
    }
    try {
      const response = await fetch(`${baseUrl}/health/live`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`the service did not answer GET /health/live within ${BOOT_TIMEOUT_MS / 1000} s`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process from /proc/<pid>/stat (Linux; clock ticks of 1/100 s). */
async function processCpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;
