import type { RecordedEvent, Subscription, SubscriptionStatus } from '@game-bot/event-store';
import { runCli, type CliRun } from './helpers/cli.js';
import { eventually } from './helpers/eventually.js';
import { testDatabaseEnv } from './helpers/test-database.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from './helpers/test-store.js';

/** `event-store subscriptions list|reset|replay`, run as a process on subscriptions of this test process's store. */
describe('event-store subscriptions', () => {
  const schema = uniqueSchema('clisubs');
  const env = { ...process.env, ...testDatabaseEnv(schema) };
  const cli = (args: string[], tty = false): Promise<CliRun> => runCli(['subscriptions', ...args], { env, tty });
  let t: TestStore;
  /** Event ids the `all-sub` handler was given, in order (a reset shows as ids given again). */
  const delivered: string[] = [];
  let all: Subscription;
  let group: Subscription;

  beforeAll(async () => {
    t = await createTestStore({ schema });
    await t.store.appendToStream('a-1', 'no_stream', someEvents(5));
    await t.store.appendToStream('other-1', 'no_stream', someEvents(3));
    await t.store.appendToStream(
      'a-1',
      5,
      [1, 2, 3].map((n) => ({ eventType: 'Poison', data: { n } })),
    );
    await t.store.appendToStream('s-1', 'no_stream', someEvents(4));
    await t.allVisible();
    all = t.store.subscribeToAll('all-sub', onAll, {
      filter: { streamPrefix: 'a-' },
      onFailure: 'skip',
      retry: { maxAttempts: 1 },
      failedRetry: { maxAttempts: 1, initialDelayMs: 1 },
      checkpointEvery: 1,
    });
    group = t.store.subscribeToAll('grp', () => undefined, { group: { partitions: 3 }, checkpointEvery: 1 });
    const stream = t.store.subscribeToStream('s-1', 'stream-sub', () => undefined, { checkpointEvery: 1 });
    await Promise.all([all.waitUntilCaughtUp(), group.waitUntilCaughtUp(), stream.waitUntilCaughtUp()]);
    await stream.unsubscribe();
    // The three poison events: failed, then dead-lettered by a retry; a fourth, only failed.
    await eventually(async () => (await t.store.listFailedDeliveries('all-sub')).length === 3);
    await t.store.retryFailedDeliveries();
    await t.store.appendToStream('a-1', 8, [{ eventType: 'Poison', data: { n: 4 } }]);
    await eventually(async () => (await t.store.listFailedDeliveries('all-sub', { status: 'failed' })).length === 1);
    await eventually(async () => (await status('all-sub')).lag === 0);
  });
  afterAll(async () => {
    await t.close();
  });

  function onAll(event: RecordedEvent): void {
    delivered.push(event.eventId);
    if (event.eventType === 'Poison') throw new Error(`poison ${String(event.data.n)}`);
  }

  async function status(name: string): Promise<SubscriptionStatus> {
    return (await t.store.listSubscriptions({ name }))[0]!;
  }

  async function listed(): Promise<SubscriptionStatus[]> {
    const run = await cli(['list', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as SubscriptionStatus[];
  }

  it('list: a table of every subscription on stdout, the same under a terminal, --json for machines', async () => {
    const table = await cli(['list']);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READS\s+GROUP\s+CHECKPOINT\s+HEAD\s+LAG\s+OWNER\s+FAILED\s+DEAD$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual(['all-sub', 'grp:0', 'grp:1', 'grp:2', 'stream-sub']);
    const head = (await t.store.readAllBackward({ maxCount: 1 })).events[0]!.globalPosition;
    // all-sub: $all with its prefix, caught up to the head, running here, 1 failed and 3 dead.
    expect(lines[1]).toMatch(
      new RegExp(`^all-sub\\s+\\$all prefix a-\\s+-\\s+${head}\\s+${head}\\s+0\\s+\\S+:${process.pid}:\\S+\\s+1\\s+3$`),
    );
    expect(lines[2]).toMatch(/^grp:0\s+\$all\s+grp #0 of 3\s+/);
    expect(lines[5]).toMatch(/^stream-sub\s+stream s-1\s+-\s+4\s+4\s+0\s+-\s+0\s+0$/);

    const tty = await cli(['list'], true);
    expect(tty.code).toBe(0);
    expect(tty.stdout.replace(/\r/g, '')).toContain(lines[0]);

    const json = await listed();
    expect(json.map((s) => s.name)).toEqual(['all-sub', 'grp:0', 'grp:1', 'grp:2', 'stream-sub']);
    expect(json[0]).toMatchObject({
      name: 'all-sub',
      streamId: '$all',
      filter: { streamPrefix: 'a-' },
      group: null,
      checkpoint: head,
      head,
      lag: 0,
      owner: expect.stringContaining(`:${process.pid}:`),
      failed: 1,
      dead: 3,
    });
    expect(json[2]).toMatchObject({ name: 'grp:1', group: { name: 'grp', partition: 1, partitions: 3 }, owner: expect.any(String) });
    expect(json[4]).toMatchObject({ name: 'stream-sub', streamId: 's-1', checkpoint: 4, head: 4, lag: 0, owner: null });
  });

  it('replay NAME: failed and dead-lettered deliveries due again (--status picks one kind); unknown names and statuses refused', async () => {
    const dead = await cli(['replay', 'all-sub', '--status', 'dead']);
    expect(dead).toMatchObject({ code: 0, stdout: "Replayed 3 dead-lettered deliveries of 'all-sub'\n" });
    expect(dead.stderr).toMatch(/^event-store: they are due now: the process running it retries them/);
    expect((await listed())[0]).toMatchObject({ failed: 4, dead: 0 });
    expect(await cli(['replay', 'all-sub', '--status', 'dead'])).toMatchObject({
      code: 0,
      stdout: "Replayed 0 dead-lettered deliveries of 'all-sub'\n",
      stderr: '',
    });
    expect(await cli(['replay', 'all-sub'])).toMatchObject({
      code: 0,
      stdout: "Replayed 4 failed and dead-lettered deliveries of 'all-sub'\n",
    });

    const unknown = await cli(['replay', 'nope']);
    expect(unknown).toMatchObject({
      code: 1,
      stdout: '',
      stderr: "event-store: No subscription or group named 'nope': `event-store subscriptions list` shows them\n",
    });
    const badStatus = await cli(['replay', 'all-sub', '--status', 'parked']);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toMatch(/^error: option '--status <status>' argument 'parked' is invalid\. must be failed or dead\n/);
  });

  it('reset NAME POSITION: moves a stopped one; refuses a running one unless --while-running, then it redelivers from there', async () => {
    expect(await cli(['reset', 'stream-sub', '2'])).toMatchObject({
      code: 0,
      stdout: "Reset subscription 'stream-sub' to 2 (was 4)\n",
      stderr: '',
    });
    expect((await status('stream-sub')).checkpoint).toBe(2);
    const past = await cli(['reset', 'stream-sub', '9']);
    expect(past).toMatchObject({
      code: 1,
      stderr: "event-store: POSITION 9 is past the end of stream 's-1' (version 4): pass a version up to it\n",
    });
    expect(await cli(['reset', 'stream-sub', 'end'])).toMatchObject({ code: 0, stdout: "Reset subscription 'stream-sub' to 4 (was 2)\n" });

    const running = await cli(['reset', 'all-sub', '0']);
    expect(running.code).toBe(1);
    expect(running.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(running.stderr).toMatch(
      /^event-store: Subscription 'all-sub' is running \(all-sub in \S+:\d+:\S+\): stop it first, or pass --while-running/,
    );
    const notAnEvent = await cli(['reset', 'all-sub', '99999999', '--while-running']);
    expect(notAnEvent).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^event-store: POSITION 99999999 is not the position of an event/),
    });

    const first = delivered[0]!;
    const before = (await status('all-sub')).checkpoint;
    const moved = await cli(['reset', 'all-sub', '0', '--while-running']);
    expect(moved).toMatchObject({ code: 0, stdout: `Reset subscription 'all-sub' to 0 (was ${before})\n` });
    expect(moved.stderr).toMatch(/^event-store: 1 running: delivery resumes after the new checkpoint within about 3 s\n$/);
    await eventually(() => delivered.filter((id) => id === first).length === 2, 15_000);
    await eventually(async () => (await status('all-sub')).checkpoint === before, 15_000);
  });

  it('reset GROUP POSITION: every partition of a group, refused while its members run', async () => {
    const refused = await cli(['reset', 'grp', '0']);
    expect(refused).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^event-store: Subscription 'grp' is running \(grp:0 in .*grp:2 in /),
    });
    await group.unsubscribe();
    await eventually(async () => (await t.store.listSubscriptions({ name: 'grp' })).every((s) => s.owner === null));
    const reset = await cli(['reset', 'grp', '0']);
    expect(reset).toMatchObject({ code: 0, stderr: '' });
    expect(reset.stdout.trimEnd().split('\n')).toEqual(
      [0, 1, 2].map((i) => expect.stringMatching(new RegExp(`^Reset subscription 'grp:${i}' to 0 \\(was \\d+\\)$`))),
    );
    expect((await t.store.listSubscriptions({ name: 'grp' })).map((s) => s.checkpoint)).toEqual([0, 0, 0]);
  });

  it('refuses bad input with one line (or the usage) and a non-zero exit; every command has --help', async () => {
    const helpArgs = [[], ['list'], ['reset'], ['replay']];
    const [unknown, negative, missing, sideways, unmigrated, ...helps] = await Promise.all([
      cli(['reset', 'nope', '0']),
      cli(['reset', 'all-sub', '-1']),
      cli(['reset', 'all-sub']),
      cli(['sideways']),
      runCli(['subscriptions', 'list'], { env: { ...env, EVENT_STORE_SCHEMA: uniqueSchema('clisubs_empty') } }),
      ...helpArgs.map((args) => cli([...args, '--help'])),
    ]);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: "event-store: No subscription or group named 'nope': `event-store subscriptions list` shows them\n",
    });
    expect(negative.code).toBe(1);
    expect(negative.stderr).toMatch(
      /^error: command-argument value '-1' is invalid for argument 'position'\. must be an integer >= 0, or 'end'\n/,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: missing required argument 'position'/);
    expect(sideways.code).toBe(1);
    expect(unmigrated.code).toBe(1);
    expect(unmigrated.stderr.trimEnd().split('\n')).toHaveLength(1);
    helpArgs.forEach((args, index) => {
      expect(helps[index]!.code).toBe(0);
      expect(helps[index]!.stdout).toMatch(new RegExp(`^Usage: event-store subscriptions${args.length ? ` ${args[0]}` : ''} `));
    });
  });
});
