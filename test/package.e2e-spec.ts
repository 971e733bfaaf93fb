/**
 * The library as a new user gets it: `npm pack`ed, installed from the tarball into a fresh Nest
 * app outside the repository (with only its peer dependencies, no `pg`/`@types/pg`), type-checked
 * against the shipped declarations, built, booted on the embedded PostgreSQL, and its CLI run.
 *
 * The fresh app's sources are `test/package/fixture/**\/*.ts.txt` (not `.ts`, so that neither the
 * repo's tsconfig nor Jest picks them up); its package.json and tsconfig are written here, with the
 * versions of the repo's lockfile, so that the npm cache serves the install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './helpers/eventually.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = join(REPO, 'test/package/fixture');
const LIBRARY = join(REPO, 'libs/event-store');

const PEERS = ['@nestjs/common', '@nestjs/core', '@nestjs/schedule', '@nestjs/terminus', 'class-validator', 'class-transformer', 'reflect-metadata', 'rxjs'];
const ADAPTER = '@nestjs/platform-fastify';
const DEV = ['typescript', '@types/node'];

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The version the repo's lockfile has, which is in the npm cache. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  const entry = lock.packages[`node_modules/${name}`];
  if (entry === undefined) throw new Error(`${name} is not in package-lock.json`);
  return entry.version;
}

/**
 * The environment without what would tie a child to this repo or this run: the npm script's
 * `npm_*` settings, the repo's `node_modules/.bin` on PATH, Jest's NODE_OPTIONS, and the
 * EVENT_STORE_* variables of the test database (the fresh app brings its own embedded one).
 */
function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|EVENT_STORE_|NODE_OPTIONS$|INIT_CWD$)/i.test(name)) env[name] = value;
  }
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.startsWith(REPO)).join(delimiter);
  return { ...env, ...extra };
}

function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnvironment()): { child: ChildProcess; output: Result } {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: Result = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  child.on('exit', (code, signal) => Object.assign(output, { code, signal }));
  return { child, output };
}

/** Runs a command to its end (killed past `timeoutMs`); never throws, the caller asserts the result. */
async function run(command: string, args: string[], cwd: string, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  const { child, output } = start(command, args, cwd, options.env);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  await once(child, 'close');
  clearTimeout(timer);
  return output;
}

/** A process that exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function procEntries(): number[] {
  return readdirSyncSafe('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return (readFileSync as unknown as never, require_readdir(dir));
  } catch {
    return [];
  }
}

function require_readdir(dir: string): string[] {
  return readdirSync(dir);
}
