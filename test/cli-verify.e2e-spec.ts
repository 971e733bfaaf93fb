import { runCli, type CliRun } from './helpers/cli.js';
import { testDatabaseEnv } from './helpers/test-database.js';
import { createTestStore, someEvents, type TestStore } from './helpers/test-store.js';

const PROGRESS_LINE = (label: string, total: number) => new RegExp(`^${label}: \\d+/${total} \\(\\d+%\\), \\d+/s, ETA (\\?|\\d+[smh]\\S*)`);

/** `event-store verify` and `event-store restamp`, run as processes on stores of the test database. */
describe('the verify and restamp commands', () => {
  let t: TestStore;
  let corrupted: { eventId: string; streamId: string; streamVersion: number; globalPosition: number };

  const cli = (args: string[], tty = false): Promise<CliRun> =>
    runCli(args, { env: { ...process.env, ...testDatabaseEnv(t.schema) }, tty });

  beforeAll(async () => {
    t = await createTestStore({}, 'cli_verify');
    await t.store.appendToStream('cli-a', 'no_stream', someEvents(15));
    await t.store.appendToStream('cli-b', 'no_stream', someEvents(10));
  });
  afterAll(async () => {
    await t.close();
  });

  it('verify on a clean store: a summary on stdout, progress lines on stderr, exit code 0', async () => {
    const verified = await cli(['verify', '--batch-size', '10']);
    expect(verified).toMatchObject({ code: 0, stdout: 'Checked 25 event(s): none corrupted\n' });
    const lines = verified.stderr.trim().split('\n');
    expect(lines[0]).toMatch(PROGRESS_LINE('verify', 25));
    expect(lines.at(-1)).toMatch(/^verify: 25\/25 \(100%\), \d+\/s, ETA 0s done$/);
  });

  it('verify under a terminal draws a bar', async () => {
    const verified = await cli(['verify'], true);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/verify \S*[░█]+\S* 25\/25/);
    expect(verified.stdout).toContain('Checked 25 event(s): none corrupted');
  });

  it('restamp: what it did on stdout, progress on stderr; a second run changes nothing', async () => {
    const first = await cli(['restamp', '--batch-size', '10']);
    expect(first).toMatchObject({
      code: 0,
      stdout: `Restamped schema ${t.schema}: 25 row(s) changed (events 25, hard-deleted positions 0, event tags 0, stream links 0): 25 row(s) in 1 group(s), transaction ids 3 to 3; transaction counter advanced by 0\n`,
    });
    expect(first.stderr.trim().split('\n').at(-1)).toMatch(/^restamp: 50\/50 \(100%\), \d+\/s, ETA 0s done$/);
    const again = await cli(['restamp'], true);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      `Schema ${t.schema} needs no restamp: 25 row(s) in 1 group(s), transaction ids 3 to 3; transaction counter advanced by 0`,
    );
    expect(again.stdout).toMatch(/restamp \S*[░█]+\S* 50\/50/);
    await t.allVisible();
    expect((await t.store.readAllForward()).events).toHaveLength(25);
  });

  it('restamp refuses, with one line and exit code 1, while another session writes to the store', async () => {
    const writer = await t.sql.connect();
    try {
      await writer.query(`BEGIN; LOCK TABLE "${t.schema}".events IN ROW EXCLUSIVE MODE`);
      const refused = await cli(['restamp', '--lock-timeout', '1']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      const lines = refused.stderr.trim().split('\n');
      expect(lines.at(-2)).toMatch(/^restamp: .* failed$/);
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^event-store: Restamp needs schema '${t.schema}' to itself, and other sessions write to it: pid \\d+ .*RowExclusiveLock on events`,
        ),
      );
    } finally {
      await writer.query('ROLLBACK');
      writer.release();
    }
  });

  it('verify lists a tampered event on stdout and exits with code 2', async () => {
    const [event] = await t.store.readStreamForward('cli-b', { fromVersion: 4, maxCount: 1 });
    corrupted = { eventId: event!.eventId, streamId: 'cli-b', streamVersion: 4, globalPosition: event!.globalPosition };
    const client = await t.sql.connect();
    try {
      await client.query(
        `BEGIN; SET LOCAL session_replication_role = replica; UPDATE "${t.schema}".events SET data = '{"n": -1}' WHERE event_id = '${event!.eventId}'; COMMIT`,
      );
    } finally {
      client.release();
    }
    const verified = await cli(['verify']);
    expect(verified).toMatchObject({
      code: 2,
      stdout:
        `corrupted: event ${corrupted.eventId}, stream 'cli-b' version 4, position ${corrupted.globalPosition}\n` +
        'Checked 25 event(s): 1 corrupted\n',
    });
    expect(verified.stderr).toMatch(/verify: 25\/25 \(100%\).* done\n$/);
  });

  it('lists both commands', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/verify \[options\]/);
    expect(help.stdout).toMatch(/restamp \[options\]/);
  });
});
