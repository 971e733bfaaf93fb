import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventStoreMigrations } from '@game-bot/event-store/internal';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';

const run = promisify(execFile);
/** The store's own migrations, oldest first. */
const STORE_MIGRATIONS = eventStoreMigrations.map((migration) => migration.name);
// The command the package installs, found through the package's name (its workspace link) and `bin`.
const packageDir = realpathSync('node_modules/@game-bot/event-store');
const { bin } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const CLI = join(packageDir, bin['event-store']!);

/** The package's `event-store` command, run as a process. */
describe('the event-store command', () => {
  const connection = testConnection();
  const schema = uniqueSchema('cli');
  const sql = new pg.Pool({ ...connection, max: 1 });
  const env = {
    ...process.env,
    ...testDatabaseEnv(schema),
  };
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...env, ...extra } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  afterAll(async () => {
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });

  it('migrate status, run, status, revert: results on stdout, progress on stderr', async () => {
    const count = STORE_MIGRATIONS.length;
    expect(await cli(['migrate', 'status'])).toMatchObject({ code: 0, stdout: expect.stringContaining(`0 applied, ${count} pending`) });
    const applied = await cli(['migrate']);
    expect(applied).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(new RegExp(`^Applied ${count} migration\\(s\\) to schema ${schema} in \\d+ ms\\n$`)),
    });
    expect(applied.stderr).toContain(`[1/${count}] applying CreateEventStore1764230400000`);
    expect(await cli(['migrate', 'run'])).toMatchObject({ code: 0, stdout: `Schema ${schema} is up to date\n` });
    expect((await cli(['migrate', 'status'])).stdout).toContain(`${count} applied, 0 pending`);
    expect(await cli(['migrate', 'revert'])).toMatchObject({ code: 0, stdout: `Reverted ${STORE_MIGRATIONS.at(-1)}\n` });
  });

  it('refuses bad input with one line and a non-zero exit code', async () => {
    const action = await cli(['migrate', 'sideways']);
    expect(action.code).not.toBe(0);
    expect(action.stderr).toMatch(/unknown migrate action 'sideways': use run, status or revert/);
    const port = await cli(['migrate', 'status'], { EVENT_STORE_PORT: 'eighty' });
    expect(port).toMatchObject({ code: 1, stderr: "event-store: EVENT_STORE_PORT must be a port number, got 'eighty'\n" });
    const production = await cli(['migrate', 'status'], { EVENT_STORE_HOST: '', NODE_ENV: 'production' });
    expect(production).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^event-store: EVENT_STORE_HOST is unset in production: set it .* or set EVENT_STORE_ALLOW_EMBEDDED=true/,
      ),
    });
    const unreachable = await cli(['migrate', 'status'], { EVENT_STORE_PORT: '1' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^event-store: Cannot reach PostgreSQL at .*:1\//);
  });

  it('migrate under a terminal: the same steps and result', async () => {
    const fresh = uniqueSchema('cli_tty');
    try {
      const run = await runCli(['migrate'], { env: { ...env, ...testDatabaseEnv(fresh) }, tty: true });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`[1/${STORE_MIGRATIONS.length}] applying CreateEventStore1764230400000`);
      expect(run.stdout).toMatch(new RegExp(`Applied ${STORE_MIGRATIONS.length} migration\\(s\\) to schema ${fresh} in \\d+ ms`));
    } finally {
      await sql.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
    }
  });

  it('lists its commands', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: event-store/);
    expect(help.stdout).toMatch(/migrate \[action\]/);
  });
});
