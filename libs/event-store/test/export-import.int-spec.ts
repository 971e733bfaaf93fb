import { randomUUID } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

/** The stored rows of a store in `$all` order: every field an import must keep, as the database holds it. */
async function storedRows(t: TestStore): Promise<unknown[]> {
  await t.allVisible();
  const { rows } = await t.sql.query(
    `SELECT event_id, stream_id, stream_version, event_type, schema_version, data::text AS data, metadata::text AS metadata,
            causation_id, correlation_id, tags, created_at::text AS created_at, encode(checksum, 'hex') AS checksum
       FROM "${t.schema}".events ORDER BY transaction_id, global_position`,
  );
  return rows;
}

async function exportText(t: TestStore, options: Parameters<TestStore['store']['exportEvents']>[1] = {}): Promise<string> {
  await t.allVisible();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  await t.store.exportEvents(output, options);
  return Buffer.concat(chunks).toString('utf8');
}

const input = (text: string): Readable => Readable.from([Buffer.from(text)]);
const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('export and import', () => {
  let source: TestStore;
  let target: TestStore;

  beforeAll(async () => {
    source = await createTestStore({}, 'export_src');
    target = await createTestStore({}, 'export_dst');
    await seed(source);
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
  });

  /**
   * Events of every shape: tags, causation and correlation, metadata, text that needs escaping, a
   * stored JSON text with line breaks, a hard-deleted stream (a gap in positions), and a
   * transaction that took its place in `$all` before an append that got a lower position.
   */
  async function seed(t: TestStore): Promise<void> {
    await t.store.appendToStream('game-1', 'no_stream', [
      { eventType: 'GameStarted', data: { word: 'crane', quote: 'say "hi"\\ \t\n', emoji: '🎲', nested: { a: [1, 2.5, null] } } },
      {
        eventType: 'GuessMade',
        data: { guess: 'slate' },
        metadata: { player: 'p-1' },
        causationId: randomUUID(),
        correlationId: randomUUID(),
        tags: ['guild:7', 'player:p-1'],
      },
    ]);
    await t.store.appendToStream('back\\slash game "2"', 'no_stream', [{ eventType: 'Weird\\Type', data: {} }]);
    await t.store.appendToStream('doomed', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
    await t.store.deleteStream('doomed', 1, { mode: 'hard' });
    await t.sql.query(
      `SELECT * FROM "${t.schema}".append_to_stream('spaced', 0, '[{"event_id":"${randomUUID()}","event_type":"Spaced","schema_version":2,"data":{"a" :\n 1.50,\r\n "b": "\\u00e9"},"metadata":{}}]')`,
    );
    // The transaction takes its id (its place in $all) first, and its position after 'late-low' got one.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let placed!: () => void;
    const hasId = new Promise<void>((resolve) => (placed = resolve));
    const early = t.store.transaction(async (tx) => {
      await tx.query('SELECT pg_current_xact_id()');
      placed();
      await held;
      await tx.appendToStream('early-high', 'no_stream', [{ eventType: 'Placed', data: { first: true } }]);
    });
    await hasId;
    await t.store.appendToStream('late-low', 'no_stream', [{ eventType: 'Placed', data: { first: false } }]);
    release();
    await early;
    for (let game = 3; game <= 40; game++) {
      await t.store.appendToStream(`game-${game}`, 'no_stream', [
        { eventType: 'GameStarted', data: { game } },
        { eventType: 'GuessMade', data: { game, guess: 'crane' }, tags: [`game:${game}`] },
      ]);
    }
  }

  it('the seed has $all order unlike position order, so that keeping the order is shown', async () => {
    const { rows } = await source.sql.query<{ stream_id: string }>(
      `SELECT stream_id FROM "${source.schema}".events WHERE stream_id IN ('early-high', 'late-low') ORDER BY transaction_id, global_position`,
    );
    const byPosition = await source.sql.query<{ stream_id: string }>(
      `SELECT stream_id FROM "${source.schema}".events WHERE stream_id IN ('early-high', 'late-low') ORDER BY global_position`,
    );
    expect(rows.map((row) => row.stream_id)).toEqual(['early-high', 'late-low']);
    expect(byPosition.rows.map((row) => row.stream_id)).toEqual(['late-low', 'early-high']);
  });

  it('a fresh store holds identical events in identical $all order after an import', async () => {
    const text = await exportText(source);
    expect(lines(text)).toHaveLength(3 + 1 + 2 + 76);
    const result = await target.store.importEvents(input(text), { batchSize: 7 });
    expect(result).toEqual({ read: 82, imported: 82, skipped: 0, interrupted: false });
    expect(await storedRows(target)).toEqual(await storedRows(source));
    const versions = `SELECT stream_id, version FROM "$schema".streams WHERE version > 0 ORDER BY stream_id`;
    expect((await target.sql.query(versions.replace('$schema', target.schema))).rows).toEqual(
      (await source.sql.query(versions.replace('$schema', source.schema))).rows,
    );
    // The store reads them as its own: intact checksums, tags indexed, streams appendable.
    expect((await target.store.readStreamForward('spaced'))[0]!.data).toEqual({ a: 1.5, b: 'é' });
    expect((await target.store.readAllForward({ filter: { tags: ['game:9'] } })).events.map((e) => e.streamId)).toEqual(['game-9']);
    await expect(target.store.appendToStream('game-1', 2, [{ eventType: 'GameWon', data: {} }])).resolves.toMatchObject({ toVersion: 3 });
  });

  it('keeps the stored text of data that holds line breaks, and every line one line', async () => {
    const line = lines(await exportText(source)).find((text) => text.includes('"streamId":"spaced"'))!;
    expect(JSON.parse(line)).toMatchObject({ data: { a: 1.5, b: 'é' }, rawData: '{"a" :\n 1.50,\r\n "b": "\\u00e9"}', schemaVersion: 2 });
  });

  it('a re-run stores nothing twice', async () => {
    const text = await exportText(source);
    const before = await storedRows(target);
    const again = await target.store.importEvents(input(text), { batchSize: 5 });
    expect(again).toMatchObject({ read: 82, imported: 0, skipped: 82 });
    expect(await storedRows(target)).toEqual(before);
  });

  it('resumes after the last exported event, also when that event was hard-deleted since', async () => {
    const all = lines(await exportText(source));
    const cursor = (JSON.parse(all[40]!) as { globalPosition: number }).globalPosition;
    expect(lines(await exportText(source, { fromPosition: cursor }))).toEqual(all.slice(41));
    const doomed = (
      await source.sql.query<{ global_position: string }>(`SELECT global_position FROM "${source.schema}".hard_deleted_positions`)
    ).rows[0]!.global_position;
    const after = lines(await exportText(source, { fromPosition: Number(doomed) }));
    expect(after[0]).toContain('"streamId":"spaced"');
    await expect(exportText(source, { fromPosition: 999_999 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('filters by stream prefix and event types, and reports progress and the last position', async () => {
    const games = lines(await exportText(source, { streamPrefix: 'game-' }));
    expect(games).toHaveLength(78);
    expect(games.every((line) => /"streamId":"game-/.test(line))).toBe(true);
    const guesses = lines(await exportText(source, { streamPrefix: 'game-', eventTypes: ['GuessMade'] }));
    expect(guesses.map((line) => (JSON.parse(line) as { eventType: string }).eventType)).toEqual(Array(39).fill('GuessMade'));
    const told: number[] = [];
    const output = new PassThrough().resume();
    const result = await source.store.exportEvents(output, { onProgress: (progress) => told.push(progress.done) });
    expect(told.at(-1)).toBe(82);
    expect(result).toMatchObject({ exported: 82, interrupted: false });
    expect(result.lastPosition).toBe((JSON.parse(lines(await exportText(source)).at(-1)!) as { globalPosition: number }).globalPosition);
  });

  describe('refuses a bad line with its number, writing nothing of its batch', () => {
    let fresh: TestStore;
    beforeEach(async () => (fresh = await createTestStore({}, 'export_bad')));
    afterEach(() => fresh.close());

    const count = async (): Promise<number> =>
      Number((await fresh.sql.query(`SELECT count(*) FROM "${fresh.schema}".events`)).rows[0]!.count);

    it.each([
      ['not JSON', (line: string) => line.slice(0, -5), /^line 15: not valid JSON/],
      ['changed data', (line: string) => line.replace('"game":', '"game":1'), /^line 15: the checksum does not match the event's fields/],
      [
        'a bad stream version',
        (line: string) => line.replace(/"streamVersion":\d+/, '"streamVersion":0'),
        /^line 15: streamVersion must be an integer >= 1/,
      ],
      [
        'a missing checksum',
        (line: string) => line.replace(/,"checksum":"[0-9a-f]+"/, ''),
        /^line 15: checksum must be 64 lower-case hex digits/,
      ],
    ])('%s', async (_, corrupt, message) => {
      const all = lines(await exportText(source, { streamPrefix: 'game-' }));
      all[14] = corrupt(all[14]!);
      await expect(fresh.store.importEvents(input(all.join('\n')), { batchSize: 10 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(message),
        details: expect.objectContaining({ line: 15 }),
      });
      expect(await count()).toBe(10);
    });

    it('a version another event holds here', async () => {
      await fresh.store.appendToStream('game-5', 'no_stream', [{ eventType: 'Other', data: {} }]);
      const all = lines(await exportText(source, { streamPrefix: 'game-5' }));
      await expect(fresh.store.importEvents(input(all.join('\n')))).rejects.toMatchObject({
        message: expect.stringMatching(
          /^line 1: version 1 of 'game-5' is not above the stream's version here \(1\): another event holds it/,
        ),
        details: expect.objectContaining({ line: 1, problem: 'version', actualVersion: 1 }),
      });
    });

    it('an event id stored here as another event', async () => {
      const [first] = lines(await exportText(source, { streamPrefix: 'game-7' }));
      const { eventId } = JSON.parse(first!) as { eventId: string };
      await fresh.store.appendToStream('elsewhere', 'no_stream', [{ eventId, eventType: 'Other', data: {} }]);
      await expect(fresh.store.importEvents(input(`\n${first}\n`))).rejects.toMatchObject({
        message: expect.stringMatching(/^line 2: event id .* is stored in this store already, as another event/),
        details: expect.objectContaining({ line: 2, problem: 'duplicate' }),
      });
    });
  });

  it('imports streams whose versions skip (a filtered export, a scavenged or linked stream)', async () => {
    const fresh = await createTestStore({}, 'export_gaps');
    try {
      const guesses = await exportText(source, { eventTypes: ['GuessMade'] });
      expect(await fresh.store.importEvents(input(guesses))).toMatchObject({ imported: 39 });
      const game = await fresh.store.readStreamForward('game-9');
      expect(game.map((event) => event.streamVersion)).toEqual([2]);
      await expect(fresh.store.appendToStream('game-9', 2, [{ eventType: 'GameWon', data: {} }])).resolves.toMatchObject({ toVersion: 3 });
    } finally {
      await fresh.close();
    }
  });

  it('keeps text that spans the chunks of the COPY whole (multi-byte characters in large events)', async () => {
    const [big, copy] = [await createTestStore({}, 'export_big'), await createTestStore({}, 'export_big_in')];
    try {
      const text = '€🎲é'.repeat(40_000);
      for (let n = 0; n < 3; n++) await big.store.appendToStream(`big-${n}`, 'no_stream', [{ eventType: 'Big', data: { text, n } }]);
      const exported = await exportText(big);
      expect(lines(exported).map((line) => (JSON.parse(line) as { data: { text: string } }).data.text === text)).toEqual([
        true,
        true,
        true,
      ]);
      await copy.store.importEvents(input(exported));
      expect(await storedRows(copy)).toEqual(await storedRows(big));
    } finally {
      await big.close();
      await copy.close();
    }
  });

  it('an export outlasts the query timeout of the pool (a slow reader of its output)', async () => {
    const slow = await createTestStore({ statementTimeoutMs: 1000, connectionTimeoutMs: 1000 }, 'export_slow');
    try {
      const events = Array.from({ length: 500 }, (_, n) => ({ eventType: 'Padded', data: { n, pad: 'x'.repeat(2000) } }));
      for (let i = 0; i < 6; i++) await slow.store.appendToStream(`slow-${i}`, 'no_stream', events);
      await slow.allVisible();
      const output = new Writable({ highWaterMark: 1, write: (_chunk, _encoding, done) => void setTimeout(done, 100) });
      const started = Date.now();
      await expect(slow.store.exportEvents(output)).resolves.toMatchObject({ exported: 3000 });
      expect(Date.now() - started).toBeGreaterThan(2000);
    } finally {
      await slow.close();
    }
  });

  it('a scavenged stream, and one with links between its events, import into a fresh store', async () => {
    const [from, to] = [await createTestStore({}, 'export_ret'), await createTestStore({}, 'export_ret_in')];
    try {
      await from.store.appendToStream(
        'chat-1',
        'no_stream',
        Array.from({ length: 5 }, (_, n) => ({ eventType: 'Said', data: { n } })),
      );
      await from.store.setStreamMetadata('chat-1', { $maxCount: 2 });
      await from.store.scavenge({});
      await from.store.appendToStream('other', 'no_stream', [{ eventType: 'Other', data: {} }]);
      const [linked] = await from.store.readStreamForward('other');
      await from.store.appendToStream('inbox', 'no_stream', [{ eventType: 'Own', data: { n: 1 } }]);
      await from.store.linkToStream('inbox', 1, [linked!.eventId]);
      await from.store.appendToStream('inbox', 2, [{ eventType: 'Own', data: { n: 3 } }]);
      await expect(to.store.importEvents(input(await exportText(from)))).resolves.toMatchObject({ imported: 5 });
      expect((await to.store.readStreamForward('chat-1')).map((event) => event.streamVersion)).toEqual([4, 5]);
      expect((await to.store.readStreamForward('inbox')).map((event) => event.streamVersion)).toEqual([1, 3]);
    } finally {
      await from.close();
      await to.close();
    }
  });

  it('stops at a batch boundary when its signal fires, and a second run completes it', async () => {
    const fresh = await createTestStore({}, 'export_stop');
    try {
      const text = await exportText(source);
      const controller = new AbortController();
      const first = await fresh.store.importEvents(input(text), {
        batchSize: 20,
        signal: controller.signal,
        onProgress: (progress) => progress.done >= 40 && controller.abort(),
      });
      expect(first).toMatchObject({ read: 40, imported: 40, interrupted: true });
      const second = await fresh.store.importEvents(input(text), { batchSize: 20 });
      expect(second).toMatchObject({ read: 82, imported: 42, skipped: 40, interrupted: false });
      expect(await storedRows(fresh)).toEqual(await storedRows(source));
    } finally {
      await fresh.close();
    }
  });
});
