import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { CLI, runCli, type CliRun } from './helpers/cli.js';
import { eventually } from './helpers/eventually.js';
import { testConnection, testDatabaseEnv } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';

const EVENTS = 30_000;
const PROGRESS_LINE = /^(export|import): \d+\/(\d+|\?)( \(\d+%\))?, \d+\/s, ETA (\?|\d+[smh]\S*)/;

/** `event-store export` and `import`, run as processes on stores of the test database. */
describe('the export and import commands', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  const source = uniqueSchema('cli_export');
  const schemas = [source];
  let dir: string;

  const env = (schema: string): NodeJS.ProcessEnv => ({ ...process.env, ...testDatabaseEnv(schema) });
  const cli = (schema: string, args: string[], tty = false): Promise<CliRun> => runCli(args, { env: env(schema), tty });
  const freshStore = async (): Promise<string> => {
    const schema = uniqueSchema('cli_import');
    schemas.push(schema);
    expect(await cli(schema, ['migrate'])).toMatchObject({ code: 0 });
    return schema;
  };
  /** What an import must keep, in $all order. */
  const rows = async (schema: string): Promise<unknown[]> =>
    (
      await sql.query(
        `SELECT event_id, stream_id, stream_version, data::text, created_at::text, checksum FROM "${schema}".events ORDER BY transaction_id, global_position`,
      )
    ).rows;
  const count = async (schema: string): Promise<number> =>
    Number((await sql.query(`SELECT count(*) FROM "${schema}".events`)).rows[0]!.count);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-export-'));
    expect(await cli(source, ['migrate'])).toMatchObject({ code: 0 });
    // A store of some size, written at COPY speed: 300 streams of 100 events, checksums as appends make them.
    await sql.query(`INSERT INTO "${source}".streams (stream_id, version) SELECT 'game-' || g, 100 FROM generate_series(1, 300) g`);
    await sql.query(
      `INSERT INTO "${source}".events (stream_id, stream_version, event_id, event_type, schema_version, data, metadata, checksum)
       SELECT s, v, id, 'GuessMade', 1, d, '{}', sha256(convert_to(concat_ws(E'\\x1f', s, v::text, id::text, 'GuessMade', '1', d::text, '{}', '', ''), 'UTF8'))
         FROM (SELECT 'game-' || (i % 300 + 1) AS s, i / 300 + 1 AS v, gen_random_uuid() AS id, json_build_object('guess', 'w' || i) AS d
                 FROM generate_series(0, ${EVENTS - 1}) i) x`,
    );
  });
  afterAll(async () => {
    for (const schema of schemas) await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('export: NDJSON to a file, a summary on stdout, progress lines on stderr', async () => {
    const out = join(dir, 'all.ndjson');
    const run = await cli(source, ['--progress-interval', '0.01', 'export', '--out', out]);
    expect(run).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Exported 30000 events to .*all\.ndjson, last position 30000\n$/),
    });
    const progress = run.stderr.trim().split('\n');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((line) => PROGRESS_LINE.test(line))).toBe(true);
    expect(progress.at(-1)).toMatch(/^export: 30000\/30000 \(100%\), \d+\/s, ETA 0s done$/);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(EVENTS);
    expect(JSON.parse(lines[0]!)).toMatchObject({ globalPosition: 1, streamId: 'game-1', streamVersion: 1, data: { guess: 'w0' } });
  });

  it('export: to stdout when no file is named, filtered, gzipped for a .gz file', async () => {
    const piped = await cli(source, ['export', '--stream-prefix', 'game-7', '--event-types', 'GuessMade,Other']);
    expect(piped.code).toBe(0);
    const lines = piped.stdout.trim().split('\n');
    // game-7 and game-70 to game-79: 11 streams of 100 events.
    expect(lines).toHaveLength(1100);
    expect(lines.every((line) => /"streamId":"game-7\d?"/.test(line))).toBe(true);
    const gz = join(dir, 'all.ndjson.gz');
    expect(await cli(source, ['export', '--out', gz])).toMatchObject({ code: 0 });
    expect(gunzipSync(await readFile(gz)).toString('utf8')).toBe(await readFile(join(dir, 'all.ndjson'), 'utf8'));
  });

  it('export: a progress bar with counts, rate and ETA under a terminal', async () => {
    const run = await cli(source, ['export', '--out', join(dir, 'tty.ndjson')], true);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/export [█░]{10,} \d+\/30000 \d+\/s ETA \S+/);
    expect(run.stdout).toMatch(/export: 30000\/30000 \(100%\), \d+\/s, ETA 0s done/);
  });

  it('import: every event kept in $all order; a re-run stores nothing twice; a .gz file too', async () => {
    const target = await freshStore();
    const first = await cli(target, ['--progress-interval', '0.01', 'import', join(dir, 'all.ndjson')]);
    expect(first).toMatchObject({ code: 0, stdout: 'Imported 30000 events, skipped 0 already stored (30000 lines read)\n' });
    expect(
      first.stderr
        .trim()
        .split('\n')
        .every((line) => PROGRESS_LINE.test(line)),
    ).toBe(true);
    expect(await rows(target)).toEqual(await rows(source));
    // Under a terminal: a bar (stdout and stderr arrive merged).
    const again = await cli(target, ['import', join(dir, 'all.ndjson.gz')], true);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/import [█░]{10,} \d+\/\d+ \d+\/s ETA \S+/);
    expect(again.stdout).toContain('Imported 0 events, skipped 30000 already stored (30000 lines read)');
    expect(await count(target)).toBe(EVENTS);
  });

  it('import: killed halfway and run again, it completes with no duplicates', async () => {
    const target = await freshStore();
    const child = spawn(process.execPath, [CLI, 'import', '--batch-size', '100', join(dir, 'all.ndjson')], {
      env: env(target),
      stdio: 'ignore',
    });
    await eventually(async () => (await count(target)) > 0, 30_000);
    child.kill('SIGKILL');
    const killedAt = await count(target);
    expect(killedAt).toBeLessThan(EVENTS);
    expect(killedAt % 100).toBe(0);
    const rerun = await cli(target, ['import', join(dir, 'all.ndjson')]);
    expect(rerun).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Imported \d+ events, skipped \d+ already stored \(30000 lines read\)\n$/),
    });
    const [, imported, skipped] = /Imported (\d+) events, skipped (\d+)/.exec(rerun.stdout)!.map(Number);
    expect(imported! + skipped!).toBe(EVENTS);
    expect(skipped).toBeGreaterThanOrEqual(killedAt);
    expect(await rows(target)).toEqual(await rows(source));
  });

  it('Ctrl-C stops an export after a whole line; --resume completes the same file', async () => {
    const out = join(dir, 'resumed.ndjson');
    const child = spawn(process.execPath, [CLI, '--progress-interval', '0.01', 'export', '--out', out], { env: env(source) });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let signalled = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (signalled || !/export: \d+/.test(stderr)) return;
      signalled = true;
      child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toContain('event-store: stopping after the current batch');
    expect(code).toBe(130);
    expect(stdout).toMatch(/^Exported \d+ events to .*, last position \d+: resume with --resume/);
    const partial = await readFile(out, 'utf8');
    expect(partial.endsWith('\n')).toBe(true);
    expect(partial.trim().split('\n').length).toBeLessThan(EVENTS);
    // A partial last line, as a kill mid-write would leave, is cut off before resuming.
    await writeFile(out, `${partial}{"globalPosition":99`);
    expect(await cli(source, ['export', '--out', out, '--resume'])).toMatchObject({ code: 0 });
    expect(await readFile(out, 'utf8')).toBe(await readFile(join(dir, 'all.ndjson'), 'utf8'));
  });

  it('a corrupted line: its number in one line on stderr, exit code 1', async () => {
    const lines = (await readFile(join(dir, 'all.ndjson'), 'utf8')).split('\n');
    lines[2] = lines[2]!.replace('"w2"', '"w3"');
    const bad = join(dir, 'bad.ndjson');
    await writeFile(bad, lines.join('\n'));
    const run = await cli(await freshStore(), ['import', bad]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      "event-store: line 3: the checksum does not match the event's fields: the line was changed after export",
    );
    expect(await cli(source, ['import', join(dir, 'missing.ndjson')])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no such file'),
    });
  });

  it('import from stdin, gzipped or not; a pipe named as the file', async () => {
    const target = await freshStore();
    const gzipped = await readFile(join(dir, 'all.ndjson.gz'));
    const piped = await runCli(['import', '-'], { env: env(target), input: gzipped });
    expect(piped).toMatchObject({ code: 0, stdout: 'Imported 30000 events, skipped 0 already stored (30000 lines read)\n' });
    // A named pipe, as `import <(zcat store.ndjson.gz)` gives: no size, no seeking, gzip told by its first bytes.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const [plain] = await Promise.all([runCli(['import', fifo], { env: env(target) }), writeFile(fifo, gzipped)]);
    expect(plain).toMatchObject({ code: 0, stdout: 'Imported 0 events, skipped 30000 already stored (30000 lines read)\n' });
    expect(await rows(target)).toEqual(await rows(source));
  });

  it('refuses to resume a gzipped or foreign file, leaving it as it was; an unwritable --out is one line', async () => {
    const gz = join(dir, 'all.ndjson.gz');
    const copy = join(dir, 'named-plain.ndjson');
    await writeFile(copy, await readFile(gz));
    const before = await readFile(copy);
    const resumed = await cli(source, ['export', '--out', copy, '--resume']);
    expect(resumed).toMatchObject({ code: 1, stderr: expect.stringContaining('is gzipped: export into a new file') });
    expect(await readFile(copy)).toEqual(before);
    const foreign = join(dir, 'notes.ndjson');
    await writeFile(foreign, 'shopping list\nmilk\n');
    expect(await cli(source, ['export', '--out', foreign, '--resume'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('is not an exported event'),
    });
    expect(await readFile(foreign, 'utf8')).toBe('shopping list\nmilk\n');
    const unwritable = await cli(source, ['export', '--out', join(dir, 'no-such-dir', 'x.ndjson')]);
    expect(unwritable).toMatchObject({ code: 1, stderr: expect.stringMatching(/^event-store: ENOENT: no such file or directory/) });
  });

  it('--help of each', async () => {
    expect((await cli(source, ['export', '--help'])).stdout).toMatch(
      /--out <file>[\s\S]*--stream-prefix[\s\S]*--from-position[\s\S]*--resume/,
    );
    expect((await cli(source, ['import', '--help'])).stdout).toMatch(/Usage: event-store import \[options\] <file>[\s\S]*--batch-size/);
    expect(await cli(source, ['export', '--from-position', '-3'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('must be an integer >= 0'),
    });
  });
});
