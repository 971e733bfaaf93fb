import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI, runCli, type CliRun } from './helpers/cli.js';
import { testDatabaseEnv } from './helpers/test-database.js';
import { createTestStore, someEvents, type TestStore } from './helpers/test-store.js';

/** A progress line of the scavenger: events and links removed so far, no total (it is not counted beforehand). */
const PROGRESS_LINE = /^scavenge: \d+\/\?, \d+\/s, ETA \?/;
const SUMMARY = (streams: number, events: number, links = 0, snapshots = 0, end = '') =>
  new RegExp(
    `^Scavenged ${streams} stream\\(s\\) with retention: removed ${events} event\\(s\\), ${links} link\\(s\\) and ${snapshots} snapshot\\(s\\) in \\d+ ms${end}\\n$`,
  );

/** `event-store scavenge`, run as a process on a store of the test database. */
describe('the scavenge command', () => {
  let t: TestStore;

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...testDatabaseEnv(t.schema) });
  const cli = (args: string[], tty = false): Promise<CliRun> => runCli(args, { env: env(), tty });
  const stored = async (streamId: string): Promise<number> =>
    (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".events WHERE stream_id = $1`, [streamId])).rows[0]!.n;

  beforeAll(async () => {
    t = await createTestStore({}, 'cli_scavenge');
  });
  afterAll(async () => {
    await t.close();
  });

  it('removes the expired events: a summary on stdout, progress lines on stderr, exit code 0', async () => {
    await t.store.appendToStream('cut-a', 'no_stream', someEvents(30));
    await t.store.appendToStream('cut-b', 'no_stream', someEvents(10));
    await t.store.appendToStream('keep-c', 'no_stream', someEvents(10));
    await t.store.setStreamMetadata('cut-a', { $truncateBefore: 21 });
    await t.store.setStreamMetadata('cut-b', { $maxCount: 4 });
    await t.store.setStreamMetadata('keep-c', { $maxCount: 4 });
    await t.store.recordSnapshot({ sourceId: 'cut-a', sourceVersion: 5, sourceType: 'test', data: {} });

    const run = await cli(['scavenge', '--batch-size', '7', '--stream-prefix', 'cut-']);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(SUMMARY(2, 26, 0, 1)) });
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(PROGRESS_LINE);
    expect(lines.at(-1)).toMatch(/^scavenge: 26\/\?, \d+\/s, ETA \? done$/);
    expect([await stored('cut-a'), await stored('cut-b'), await stored('keep-c')]).toEqual([10, 4, 10]);

    const again = await cli(['scavenge']);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(SUMMARY(3, 6)) });
    expect(await stored('keep-c')).toBe(4);
  });

  it('draws a bar under a terminal', async () => {
    await t.store.appendToStream('tty-a', 'no_stream', someEvents(12));
    await t.store.setStreamMetadata('tty-a', { $maxCount: 2 });
    const run = await cli(['scavenge', '--stream-prefix', 'tty-'], true);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/scavenge \S*[░█]*\S* 10\/\?/);
    expect(run.stdout).toMatch(/Scavenged 1 stream\(s\) with retention: removed 10 event\(s\), 0 link\(s\) and 0 snapshot\(s\) in \d+ ms/);
    expect(await stored('tty-a')).toBe(2);
  });

  it('stops after the current batch on Ctrl-C with exit code 130; a second run carries on', async () => {
    await t.store.appendToStream('int-a', 'no_stream', someEvents(300));
    await t.store.setStreamMetadata('int-a', { $maxCount: 1 });
    const child = spawn(
      process.execPath,
      [CLI, '--progress-interval', '0.001', 'scavenge', '--batch-size', '1', '--stream-prefix', 'int-'],
      {
        env: env(),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!interrupted && PROGRESS_LINE.test(stderr)) {
        interrupted = true; // Ctrl-C once the first batch is reported
        child.kill('SIGINT');
      }
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(130);
    expect(stderr).toContain('event-store: stopping after the current batch');
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^scavenge: \d+\/\?, .* interrupted: run the command again to resume$/);
    const removed = Number(/removed (\d+) event/.exec(stdout)?.[1]);
    expect(stdout).toMatch(SUMMARY(0, removed, 0, 0, '; interrupted: run it again to carry on'));
    expect(removed).toBeGreaterThan(0);
    expect(removed).toBeLessThan(299);
    expect(await stored('int-a')).toBe(300 - removed);

    const rest = await cli(['scavenge', '--stream-prefix', 'int-']);
    expect(rest).toMatchObject({ code: 0, stdout: expect.stringMatching(SUMMARY(1, 299 - removed)) });
    expect(await stored('int-a')).toBe(1);
  });

  it('refuses bad options with one line and a non-zero exit code', async () => {
    const zero = await cli(['scavenge', '--batch-size', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/option '--batch-size <n>' argument '0' is invalid\. must be an integer >= 1/);
    const large = await cli(['scavenge', '--batch-size', '20000']);
    expect(large).toMatchObject({ code: 1, stdout: '' });
    expect(large.stderr.trim().split('\n').at(-1)).toBe('event-store: batchSize must be an integer from 1 to 10000, got 20000');
    const unreachable = await runCli(['scavenge'], { env: { ...env(), EVENT_STORE_PORT: '1' } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^event-store: (StoreUnavailableError: )?Cannot reach PostgreSQL at .*:1\//),
    ]);
  });

  it('is listed in the help', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/scavenge \[options\]/);
  });
});
