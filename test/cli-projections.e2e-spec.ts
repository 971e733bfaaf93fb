import { spawn, type ChildProcess } from 'node:child_process';
import type { ProjectionStatus } from '@game-bot/event-store';
import { CLI, runCli, type CliRun } from './helpers/cli.js';
import { allEvents, expectedModel, readModel } from './helpers/counting-projection.js';
import { eventually } from './helpers/eventually.js';
import { startProjectionProcess, stopProjectionProcess, type ProjectionLine } from './helpers/projection-child.js';
import { testDatabaseEnv } from './helpers/test-database.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from './helpers/test-store.js';

/**
 * `event-store projections list|rebuild NAME`, run as a process, on a counting projection that a
 * separate Node process runs (test/helpers/projection-process.ts): the command asks, that process
 * rebuilds, the command follows.
 */
describe('event-store projections', () => {
  const schema = uniqueSchema('cliproj');
  const env = { ...process.env, ...testDatabaseEnv(schema) };
  /** Progress lines every 0.2 s when stderr is not a terminal. */
  const cli = (args: string[], tty = false): Promise<CliRun> =>
    runCli(['--progress-interval', '0.2', 'projections', ...args], { env, tty });
  const projection = { PROJECTION: 'counted', TABLE_PREFIX: 'cp', STREAM_PREFIX: 'cp-', BATCH_SIZE: '20', DELAY_MS: '20' };
  let t: TestStore;
  let runner: ChildProcess;
  const lines: ProjectionLine[] = [];

  beforeAll(async () => {
    t = await createTestStore({ schema });
    for (let i = 0; i < 25; i++) await t.store.appendToStream(`cp-${i % 5}`, 'any', someEvents(10, 'Counted', i * 10));
    runner = await startProjectionProcess(schema, projection, lines);
    await caughtUp();
  });
  afterAll(async () => {
    await stopProjectionProcess(runner, 'SIGKILL');
    await t.close();
  });

  async function status(): Promise<ProjectionStatus> {
    return t.store.projectionStatus('counted');
  }

  async function caughtUp(): Promise<void> {
    await t.allVisible();
    await eventually(
      () =>
        status().then(
          (s) => s.lag === 0,
          () => false,
        ),
      30_000,
    );
  }

  async function expectExactModel(): Promise<void> {
    await caughtUp();
    const replay = expectedModel(await allEvents((options) => t.store.readAllForward(options), { streamPrefix: 'cp-' }));
    expect(await readModel(t.sql, schema, 'cp')).toEqual(replay);
  }

  it('list: a table on stdout (status, generation, checkpoint, lag, owner), --json for machines', async () => {
    const table = await cli(['list']);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+STATUS\s+GENERATION\s+CHECKPOINT\s+LAG\s+OWNER\s+REBUILD\s+ERROR$/);
    const { checkpoint } = await status();
    expect(row).toMatch(new RegExp(`^counted\\s+running\\s+0\\s+${checkpoint}\\s+0\\s+\\S+:${runner.pid}:\\S+\\s+-\\s+-$`));
    expect(rest).toEqual([]);
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as ProjectionStatus[];
    expect(json).toEqual([
      expect.objectContaining({
        name: 'counted',
        status: 'running',
        generation: 0,
        checkpoint,
        lag: 0,
        rebuild: null,
        rebuildRequestedAt: null,
      }),
    ]);
  });

  it('rebuild NAME (not a terminal): the running process rebuilds it; progress lines with counts, rate and ETA; a second request meanwhile waits for the same rebuild', async () => {
    const runs = await Promise.all([cli(['rebuild', 'counted']), cli(['rebuild', 'counted'])]);
    const owner = `\\S+:${runner.pid}:\\S+`;
    const asked = new RegExp(
      `^event-store: ${owner} runs projection 'counted' and takes the request up within a second \\(giving up after 60 s without one: --timeout\\)$`,
    );
    const rebuilds = new RegExp(`^event-store: ${owner} rebuilds projection 'counted' into generation 1$`);
    for (const run of runs) {
      expect(run).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^Rebuilt projection 'counted': generation 1, checkpoint \d+\n$/),
      });
      const stderr = run.stderr.split('\n');
      // The command that asked first says who takes its request up; one asking during the rebuild joins it.
      expect(stderr[0]).toMatch(new RegExp(`${asked.source}|${rebuilds.source}`));
      expect(stderr).toContainEqual(expect.stringMatching(rebuilds));
      const progress = stderr.filter((line) => line.startsWith('rebuild counted: '));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      for (const line of progress)
        expect(line).toMatch(/^rebuild counted: \d+\/\d+( \(\d+%\))?, \d+\/s, ETA (\d+s|\d+m\d+s|\?)( switched)?$/);
      expect(progress.at(-1)).toMatch(/ switched$/);
      expect(stderr.some((line) => line.includes('\u2588'))).toBe(false); // no bar off a terminal
    }
    expect(runs.some((run) => asked.test(run.stderr.split('\n')[0]!))).toBe(true);
    expect(lines.some((line) => line.rebuild)).toBe(true); // the projection's own process built it
    // One rebuild answered both: none is left to start.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await status()).toMatchObject({ generation: 1, rebuild: null, rebuildRequestedAt: null });
    await expectExactModel();
  });

  it('rebuild NAME under a terminal: a progress bar, then the result', async () => {
    const run = await cli(['rebuild', 'counted'], true);
    expect(run.code).toBe(0);
    // stdout and stderr arrive merged under the pseudo-terminal: the bar redraws in place.
    expect(run.stdout).toMatch(/rebuild counted [\u2588\u2591]+ \d+\/\d+ \d+\/s ETA /);
    expect(run.stdout).toContain('\r');
    expect(run.stdout).toMatch(/Rebuilt projection 'counted': generation 2, checkpoint \d+\r?\n$/);
    await expectExactModel();
  });

  it('rebuild NAME --no-wait: returns once requested; the rebuild follows', async () => {
    const run = await cli(['rebuild', 'counted', '--no-wait']);
    expect(run).toMatchObject({ code: 0, stdout: "Requested a rebuild of projection 'counted' (requested)\n" });
    expect(run.stderr).toMatch(
      /^event-store: \S+ runs projection 'counted' and takes the request up within a second; `event-store projections list` shows how it goes\n$/,
    );
    await eventually(() => status().then((s) => s.generation === 3), 30_000);
    await expectExactModel();
  });

  it('Ctrl-C stops the waiting, not the rebuild: exit code 130, the switch follows', async () => {
    const child = spawn(process.execPath, [CLI, '--progress-interval', '0.2', 'projections', 'rebuild', 'counted'], { env });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await eventually(() => stderr.includes('rebuild counted: '), 30_000);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('event-store: stopping the waiting; the rebuild goes on (Ctrl-C again to exit at once)\n');
    expect(stderr).toMatch(/rebuild counted: \d+\/\d+ .* no longer awaited\n/);
    expect(stderr).toMatch(/event-store: stopped waiting: the rebuild goes on in \S+:\d+:\S+; `event-store projections list` shows it/);
    expect(stdout).toBe("Rebuild of projection 'counted' under way, not awaited\n");
    await eventually(() => status().then((s) => s.generation === 4 && s.rebuild === null), 30_000);
    await expectExactModel();
  });

  it('no process runs it: the request waits and says so; past --timeout it is withdrawn; recorded, the next process to start takes it up', async () => {
    await stopProjectionProcess(runner);
    await eventually(() => status().then((s) => s.owner === null), 10_000);
    const run = await cli(['rebuild', 'counted', '--timeout', '1']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n')).toEqual([
      "event-store: no process runs projection 'counted' now: the request waits for one to start (giving up after 1 s without one: --timeout)",
      "event-store: No process running projection 'counted' took up the rebuild request within 1000 ms: the request was withdrawn. Start the application that runs it, then request the rebuild again",
      '',
    ]);
    expect(await status()).toMatchObject({ generation: 4, rebuildRequestedAt: null });

    const recorded = await cli(['rebuild', 'counted', '--no-wait']);
    expect(recorded).toMatchObject({
      code: 0,
      stdout: "Requested a rebuild of projection 'counted' (requested)\n",
      stderr:
        "event-store: no process runs projection 'counted' now: the request waits for one to start; `event-store projections list` shows how it goes\n",
    });
    const listed = await cli(['list']);
    expect(listed.stdout.split('\n')[1]).toMatch(/^counted\s+standby\s+4\s+\d+\s+0\s+-\s+requested\s+-$/);
    runner = await startProjectionProcess(schema, projection, lines);
    await eventually(() => status().then((s) => s.generation === 5 && s.rebuild === null), 30_000);
    await expectExactModel();
  });

  it('refuses unknown names and bad options with one line and a non-zero exit; every command has --help', async () => {
    const [unknown, badTimeout, ...helps] = await Promise.all([
      cli(['rebuild', 'nope']),
      cli(['rebuild', 'counted', '--timeout', 'soon']),
      ...[[], ['list'], ['rebuild']].map((args) => cli([...args, '--help'])),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "event-store: No projection named 'nope': it is created when a process running its @Projection starts\n",
    });
    expect(badTimeout.code).toBe(1);
    expect(badTimeout.stderr).toMatch(
      /^error: option '--timeout <seconds>' argument 'soon' is invalid\. must be a positive number of seconds\n/,
    );
    expect(helps.map((help) => help.code)).toEqual([0, 0, 0]);
    expect(helps[0]!.stdout).toMatch(/^Usage: event-store projections /);
    expect(helps[2]!.stdout).toMatch(/--no-wait[\s\S]*--timeout <seconds>/);
  });
});
