import { randomUUID } from 'node:crypto';
import {
  CorruptedEventError,
  InvalidArgumentError,
  type ExpectedVersion,
  type ReadAllOptions,
  type RecordedEvent,
  type Subscription,
} from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

const positions = (events: RecordedEvent[]): number[] => events.map((event) => event.globalPosition);

describe('tags', () => {
  let t: TestStore;
  let n = 0;
  const fresh = (label = 'stream'): string => `${label}-${++n}`;

  beforeAll(async () => {
    t = await createTestStore({ filterScanLimit: 50, maxPageSize: 1000 }, 'tags');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every page of a read, following `nextFromPosition` until a page comes back short. */
  async function readPages(direction: 'forward' | 'backward', options: ReadAllOptions): Promise<RecordedEvent[][]> {
    await t.allVisible();
    const pages: RecordedEvent[][] = [];
    let fromPosition = options.fromPosition;
    for (;;) {
      const read = direction === 'forward' ? t.store.readAllForward.bind(t.store) : t.store.readAllBackward.bind(t.store);
      const page = await read({ ...options, fromPosition });
      pages.push(page.events);
      if (page.events.length < (options.maxCount ?? 1000) || page.nextFromPosition === null) return pages;
      fromPosition = page.nextFromPosition;
    }
  }

  /** The whole of `$all`, for comparing a filtered read with what it must equal. */
  async function everything(): Promise<RecordedEvent[]> {
    await t.allVisible();
    return (await t.store.readAllForward({ maxCount: 1000 })).events;
  }

  const carries = (event: RecordedEvent, tags: string[]): boolean => tags.every((tag) => event.tags?.includes(tag));

  /**
   * The `$all` cursor at its end now, read behind the store's back (its own read would refuse a
   * corrupted last event); a failed append may have burnt the position before the next event.
   */
  async function endOfAll(): Promise<number> {
    await t.allVisible();
    const { rows } = await t.sql.query<{ last: string | null }>(`SELECT max(global_position) AS last FROM "${t.schema}".events`);
    return Number(rows[0]!.last ?? 0);
  }

  describe('a tagged or conditional append follows every expected-version rule', () => {
    // The tagged path (append_tagged) writes the common case itself and hands every other case on;
    // each outcome must be the plain append's, and a failure must store nothing.
    type Setup = 'missing' | 'at 2' | 'soft-deleted';
    const cases: Array<[Setup, ExpectedVersion]> = (['missing', 'at 2', 'soft-deleted'] as Setup[]).flatMap((setup) =>
      (['any', 'no_stream', 'stream_exists', 0, 1, 2, 3] as ExpectedVersion[]).map((expected): [Setup, ExpectedVersion] => [
        setup,
        expected,
      ]),
    );

    async function prepare(setup: Setup): Promise<string> {
      const streamId = fresh('rules');
      if (setup !== 'missing') await t.store.appendToStream(streamId, 'no_stream', someEvents(2));
      if (setup === 'soft-deleted') await t.store.deleteStream(streamId, 'any');
      return streamId;
    }

    async function outcome(append: () => Promise<{ fromVersion: number; toVersion: number }>): Promise<unknown> {
      try {
        const { fromVersion, toVersion } = await append();
        return { fromVersion, toVersion };
      } catch (error) {
        const { code, details } = error as { code: string; details: Record<string, unknown> };
        return { code, actualVersion: details.actualVersion };
      }
    }

    it.each(cases)('stream %s, expected %p', async (setup, expected) => {
      const plain = await prepare(setup);
      const tagged = await prepare(setup);
      const conditional = await prepare(setup);
      const want = await outcome(() => t.store.appendToStream(plain, expected, someEvents(2)));
      const tags = [`rules:${randomUUID()}`];
      expect(
        await outcome(() =>
          t.store.appendToStream(tagged, expected, [
            { eventType: 'R', data: {}, tags },
            { eventType: 'R', data: {} },
          ]),
        ),
      ).toEqual(want);
      const condition = { failIfEventsMatch: [{ tags: [`never:${randomUUID()}`] }] };
      expect(await outcome(() => t.store.appendToStream(conditional, expected, someEvents(2), { condition }))).toEqual(want);
      if ((want as { code?: string }).code !== undefined) {
        const stored = await t.sql.query(`SELECT count(*)::int AS n FROM "${t.schema}".event_tags WHERE tag = $1`, [tags[0]]);
        expect(stored.rows[0].n).toBe(0);
      }
    });
  });

  describe('refused tags', () => {
    it.each([
      ['not an array', 'guild:7', 'events[0].tags'],
      ['an array of 21', Array.from({ length: 21 }, (_, i) => `t${i}`), 'events[0].tags'],
      ['an empty tag', ['ok', ''], 'events[0].tags[1]'],
      ['a tag of 201 characters', ['ok', 'x'.repeat(201)], 'events[0].tags[1]'],
      ['a control character', ['ok', 'bell\u0007'], 'events[0].tags[1]'],
      ['a line break', ['ok', 'two\nlines'], 'events[0].tags[1]'],
      ['a repeated tag', ['ok', 'ok'], 'events[0].tags[1]'],
      ['a tag that is not a string', [7], 'events[0].tags[0]'],
      ['a lone surrogate', ['\ud800'], 'events[0].tags[0]'],
    ])('%s is INVALID_ARGUMENT naming the field', async (_, tags, field) => {
      const streamId = fresh();
      const event = { eventType: 'Tagged', data: {}, tags: tags as string[] };
      // appendToStreams names the entry too.
      for (const [append, name] of [
        [() => t.store.appendToStream(streamId, 'any', [event]), field],
        [
          () =>
            t.store.appendToStreams([
              { streamId: fresh(), expectedVersion: 'any' },
              { streamId, expectedVersion: 'any', events: [event] },
            ]),
          `streams[1].${field}`,
        ],
      ] as const) {
        const error = await append().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).details).toHaveProperty([name]);
        expect((error as Error).message).toContain(name);
      }
      await expect(t.store.streamInfo(streamId)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    });

    it('names the event the bad tag is on, and refuses the whole append', async () => {
      const streamId = fresh();
      const error = await t.store
        .appendToStream(streamId, 'any', [
          { eventType: 'Tagged', data: {}, tags: ['fine'] },
          { eventType: 'Tagged', data: {}, tags: ['fine', 'fine'] },
        ])
        .catch((e: unknown) => e);
      expect((error as InvalidArgumentError).details).toHaveProperty(['events[1].tags[1]']);
      await expect(t.store.streamInfo(streamId)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    });

    it('accepts 20 tags of 200 characters, and an empty list as no tags', async () => {
      const many = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(200, 'x'));
      const streamId = fresh();
      await t.store.appendToStream(streamId, 'no_stream', [
        { eventType: 'Tagged', data: {}, tags: many },
        { eventType: 'Tagged', data: {}, tags: [] },
      ]);
      const [full, none] = await t.store.readStreamForward(streamId);
      expect(full!.tags).toEqual(many);
      expect(none).not.toHaveProperty('tags');
    });

    it('refuses a bad tag filter', async () => {
      for (const tags of [[], [''], 'a', ['a', 'a'], [1]]) {
        await expect(t.store.readAllForward({ filter: { tags: tags as string[] } })).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });
  });

  describe('reading tags back', () => {
    const odd = ['NULL', 'null', 'a,b', '{c}', 'd"e', 'f\\g', ' spaced ', "it's", 'ünïcödé', '🎲:6', 'x'.repeat(200)];

    it('every read path returns the tags as given, in order, also tags that look like array syntax or NULL', async () => {
      const streamId = fresh('odd');
      const cursor = await endOfAll();
      const { firstPosition } = await t.store.appendToStream(streamId, 'no_stream', [
        { eventType: 'Odd', data: { i: 0 }, tags: odd },
        { eventType: 'Odd', data: { i: 1 } },
        { eventType: 'Odd', data: { i: 2 }, tags: ['z', 'a'] },
      ]);
      const expected = [odd, undefined, ['z', 'a']];
      const tagsOf = (events: RecordedEvent[]) => events.map((event) => event.tags);

      expect(tagsOf(await t.store.readStreamForward(streamId))).toEqual(expected);
      expect(tagsOf(await t.store.readStreamBackward(streamId))).toEqual([...expected].reverse());
      const iterated: RecordedEvent[] = [];
      for await (const event of t.store.streamForward(streamId, { maxCount: 1 })) iterated.push(event);
      expect(tagsOf(iterated)).toEqual(expected);
      await t.allVisible();
      expect(tagsOf((await t.store.readAllForward({ fromPosition: cursor, maxCount: 3 })).events)).toEqual(expected);
      expect(tagsOf((await t.store.readAllForward({ fromPosition: cursor, maxCount: 3, filter: { eventTypes: ['Odd'] } })).events)).toEqual(
        expected,
      );
      expect(tagsOf((await t.store.readAllBackward({ maxCount: 3 })).events)).toEqual([...expected].reverse());

      // Each odd tag finds its event through the tag index, and only it.
      for (const tag of odd) {
        const { events } = await t.store.readAllForward({ filter: { tags: [tag] } });
        expect(events.map((event) => [event.streamId, event.streamVersion])).toEqual([[streamId, 1]]);
      }
      // So does a condition: each odd tag matches the stored event.
      for (const tag of odd) {
        await expect(
          t.store.appendToStream(fresh(), 'any', someEvents(1), { condition: { failIfEventsMatch: [{ tags: [tag] }] } }),
        ).rejects.toMatchObject({ code: 'APPEND_CONDITION_FAILED', details: { conflictingPositions: [firstPosition] } });
      }
    });

    it('a linked event carries its tags into the stream it is linked into', async () => {
      const source = fresh('source');
      await t.store.appendToStream(source, 'no_stream', [{ eventType: 'Linked', data: {}, tags: ['best', 'of:2026'] }]);
      const [event] = await t.store.readStreamForward(source);
      const target = fresh('target');
      await t.store.linkToStream(target, 'no_stream', [event!.eventId]);
      expect((await t.store.readStreamForward(target))[0]).toMatchObject({ tags: ['best', 'of:2026'], link: { streamId: target } });
    });

    it('a re-send of tagged events is recognised, and the same ids with other tags are DUPLICATE_EVENT', async () => {
      const streamId = fresh();
      const events = [{ eventId: randomUUID(), eventType: 'Tagged', data: {}, tags: ['a', 'b'] }];
      const first = await t.store.appendToStream(streamId, 'no_stream', events);
      expect(await t.store.appendToStream(streamId, 'no_stream', events)).toEqual(first);
      for (const tags of [['b', 'a'], ['a'], ['a', 'b', 'c'], undefined]) {
        await expect(t.store.appendToStream(streamId, 'any', [{ ...events[0]!, tags }])).rejects.toMatchObject({ code: 'DUPLICATE_EVENT' });
      }
      expect(await t.store.readStreamForward(streamId)).toHaveLength(1);
    });
  });

  describe('reading $all by tags', () => {
    let all: RecordedEvent[];

    /** 60 events over three categories; tags `alpha` on every 2nd, `beta` on every 3rd, `gamma` on every 5th. */
    beforeAll(async () => {
      for (let i = 0; i < 60; i++) {
        const tags = [i % 2 === 0 && 'alpha', i % 3 === 0 && 'beta', i % 5 === 0 && 'gamma'].filter((tag): tag is string => tag !== false);
        const streamId = ['red-', 'blue-', 'green-'][i % 3]! + (i % 4);
        await t.store.appendToStream(streamId, 'any', [
          { eventType: i % 4 === 0 ? 'Even' : 'Other', data: { i }, ...(tags.length > 0 && { tags }) },
        ]);
      }
      all = (await everything()).filter((event) => event.eventType === 'Even' || event.eventType === 'Other');
    });

    it('returns only the events carrying every tag, in $all order, page by page', async () => {
      const expected = all.filter((event) => carries(event, ['alpha', 'beta']));
      expect(expected).toHaveLength(10);
      const pages = await readPages('forward', { maxCount: 3, filter: { tags: ['alpha', 'beta'] } });
      expect(pages.map((page) => page.length)).toEqual([3, 3, 3, 1]);
      expect(positions(pages.flat())).toEqual(positions(expected));
      expect(pages.flat()).toEqual(expected);
      // Either tag first: the same events.
      expect(positions((await readPages('forward', { maxCount: 100, filter: { tags: ['beta', 'alpha'] } })).flat())).toEqual(
        positions(expected),
      );
    });

    it('pages backward, from the end and from a cursor', async () => {
      const expected = all.filter((event) => carries(event, ['alpha', 'gamma'])).reverse();
      const pages = await readPages('backward', { maxCount: 2, filter: { tags: ['gamma', 'alpha'] } });
      expect(positions(pages.flat())).toEqual(positions(expected));
      const cursor = expected[2]!.globalPosition;
      const { events } = await t.store.readAllBackward({ fromPosition: cursor, maxCount: 100, filter: { tags: ['alpha', 'gamma'] } });
      expect(positions(events)).toEqual(positions(expected.slice(3)));
    });

    it('combines with eventTypes and streamPrefix', async () => {
      const cases: Array<{ filter: NonNullable<ReadAllOptions['filter']>; keep: (event: RecordedEvent) => boolean }> = [
        { filter: { tags: ['alpha'], eventTypes: ['Even'] }, keep: (e) => carries(e, ['alpha']) && e.eventType === 'Even' },
        { filter: { tags: ['beta'], streamPrefix: 'red-' }, keep: (e) => carries(e, ['beta']) && e.streamId.startsWith('red-') },
        {
          filter: { tags: ['alpha', 'beta'], eventTypes: ['Other', 'Even'], streamPrefix: 'red-' },
          keep: (e) => carries(e, ['alpha', 'beta']) && e.streamId.startsWith('red-'),
        },
        { filter: { tags: ['gamma'], eventTypes: ['Missing'] }, keep: () => false },
      ];
      for (const { filter, keep } of cases) {
        const expected = positions(all.filter(keep));
        expect(positions((await readPages('forward', { maxCount: 2, filter })).flat())).toEqual(expected);
        expect(positions((await readPages('backward', { maxCount: 2, filter })).flat())).toEqual([...expected].reverse());
      }
    });

    it('splits by partition: the partitions together hold each tagged event once', async () => {
      const parts = await Promise.all(
        [0, 1, 2].map(async (index) =>
          positions((await readPages('forward', { maxCount: 4, filter: { tags: ['alpha'], partition: { count: 3, index } } })).flat()),
        ),
      );
      expect(parts.flat().sort((x, y) => x - y)).toEqual(positions(all.filter((e) => carries(e, ['alpha']))));
    });

    it('continues after a cursor that matches nothing, and refuses an unknown one', async () => {
      const untagged = all.find((event) => event.tags === undefined)!;
      const { events } = await t.store.readAllForward({
        fromPosition: untagged.globalPosition,
        maxCount: 100,
        filter: { tags: ['alpha'] },
      });
      expect(positions(events)).toEqual(positions(all.filter((e) => carries(e, ['alpha']) && e.globalPosition > untagged.globalPosition)));
      const beyond = all.at(-1)!.globalPosition + 10_000;
      await expect(t.store.readAllForward({ fromPosition: beyond, filter: { tags: ['alpha'] } })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });
  });

  describe('a sparse tag', () => {
    it('1 event in 100 carries it: a tagged read returns exactly those, full pages, however far apart they lie', async () => {
      const streamId = fresh('sparse');
      const rare = (i: number): boolean => i % 100 === 37;
      const written = Array.from({ length: 3000 }, (_, i) => ({
        eventType: rare(i) ? 'SparseRare' : 'Sparse',
        data: { i },
        ...(rare(i) && { tags: ['rare'] }),
      }));
      for (let i = 0; i < written.length; i += 500) {
        await t.store.appendToStream(streamId, 'any', written.slice(i, i + 500));
      }
      await t.allVisible();
      const pages = await readPages('forward', { maxCount: 10, filter: { tags: ['rare'] } });
      // Full pages: the read is driven by the tag index, not by a scan window over $all (here 50
      // events), which would return pages that are mostly empty.
      expect(pages.map((page) => page.length)).toEqual([10, 10, 10, 0]);
      expect(pages.flat().map((event) => [event.streamVersion, event.data.i])).toEqual(
        Array.from({ length: 30 }, (_, k) => [k * 100 + 38, k * 100 + 37]),
      );
      // The same events by type: a read scans at most 50 events, so its pages hold 0 or 1.
      const byType = await t.store.readAllForward({
        fromPosition: pages[0]![0]!.globalPosition,
        maxCount: 10,
        filter: { eventTypes: ['SparseRare'] },
      });
      expect(byType.events.length).toBeLessThan(2);
      const backward = await readPages('backward', { maxCount: 10, filter: { tags: ['rare'] } });
      expect(backward.flat().map((event) => event.data.i)).toEqual(Array.from({ length: 30 }, (_, k) => (29 - k) * 100 + 37));
    });
  });

  describe('deletion', () => {
    it('a hard-deleted stream leaves the tag reads and the conditions; a soft-deleted one stays in both', async () => {
      const [hard, soft] = [fresh('hard'), fresh('soft')];
      const tag = fresh('deleted');
      await t.store.appendToStream(hard, 'no_stream', [{ eventType: 'D', data: {}, tags: [tag] }]);
      const kept = await t.store.appendToStream(soft, 'no_stream', [{ eventType: 'D', data: {}, tags: [tag] }]);
      await t.store.deleteStream(hard, 1, { mode: 'hard' });
      await t.store.deleteStream(soft, 1);
      await t.allVisible();
      expect(positions((await t.store.readAllForward({ filter: { tags: [tag] } })).events)).toEqual([kept.firstPosition]);
      await expect(
        t.store.appendToStream(fresh(), 'any', someEvents(1), { condition: { failIfEventsMatch: [{ tags: [tag] }] } }),
      ).rejects.toMatchObject({ details: { conflictingPositions: [kept.firstPosition] } });
      const { rows } = await t.sql.query(`SELECT 1 FROM "${t.schema}".event_tags WHERE tag = $1`, [tag]);
      expect(rows).toHaveLength(1);
    });
  });

  describe('integrity', () => {
    /** Changes a row the way only someone bypassing the store could: with the trigger switched off. */
    async function tamper(statement: string, values: unknown[]): Promise<void> {
      const client = await t.sql.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL session_replication_role = replica');
        await client.query(statement, values);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    }

    it.each([
      ['changed', ['x', 'forged']],
      ['reordered', ['y', 'x']],
      ['removed', null],
      ['emptied', []],
    ])('tags %s behind the store read as CORRUPTED_EVENT on every read path', async (_, tags) => {
      const streamId = fresh('tampered');
      const cursor = await endOfAll();
      await t.store.appendToStream(streamId, 'no_stream', [{ eventType: 'Tampered', data: {}, tags: ['x', 'y'] }]);
      const [event] = await t.store.readStreamForward(streamId);
      await tamper(`UPDATE "${t.schema}".events SET tags = $2 WHERE event_id = $1`, [event!.eventId, tags]);

      const error = await t.store.readStreamForward(streamId).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptedEventError);
      expect(error).toMatchObject({ code: 'CORRUPTED_EVENT', details: { eventId: event!.eventId, streamId } });
      await t.allVisible();
      await expect(t.store.readAllForward({ fromPosition: cursor, maxCount: 1 })).rejects.toBeInstanceOf(CorruptedEventError);
      await expect(t.store.readAllForward({ fromPosition: cursor, filter: { tags: ['x'] } })).rejects.toBeInstanceOf(CorruptedEventError);
    });

    it('tags added to an untagged event read as CORRUPTED_EVENT', async () => {
      const streamId = fresh('tampered');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1));
      await tamper(`UPDATE "${t.schema}".events SET tags = '{x}' WHERE stream_id = $1`, [streamId]);
      await expect(t.store.readStreamForward(streamId)).rejects.toBeInstanceOf(CorruptedEventError);
    });
  });

  describe('subscriptions filtered by tags', () => {
    const subscriptions: Subscription[] = [];
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
    });

    it.each(['transient', 'persistent'] as const)(
      'a %s subscription to $all delivers only the events carrying every tag, also live',
      async (kind) => {
        const tag = fresh('sub');
        await t.store.appendToStream(fresh('subbed'), 'any', [
          { eventType: 'S', data: { i: 0 }, tags: [tag, 'x'] },
          { eventType: 'S', data: { i: 1 }, tags: [tag] },
          { eventType: 'S', data: { i: 2 }, tags: ['x'] },
          { eventType: 'S', data: { i: 3 }, tags: ['x', tag] },
        ]);
        const delivered: RecordedEvent[] = [];
        const handler = (event: RecordedEvent): void => void delivered.push(event);
        const options = { filter: { tags: [tag, 'x'] } };
        const subscription =
          kind === 'transient'
            ? t.store.subscribe('$all', handler, options)
            : t.store.subscribeToAll(fresh('tagged-sub'), handler, options);
        subscriptions.push(subscription);
        await eventually(() => delivered.length === 2);
        await t.store.appendToStream(fresh('subbed'), 'any', [
          { eventType: 'S', data: { i: 4 }, tags: [tag] },
          { eventType: 'T', data: { i: 5 }, tags: ['x', 'y', tag] },
        ]);
        await eventually(() => delivered.length === 3);
        await t.allVisible();
        await subscription.waitUntilCaughtUp();
        expect(delivered.map((event) => event.data.i)).toEqual([0, 3, 5]);
      },
    );

    it('a persistent subscription filtered by tags resumes after its checkpoint with the same filter', async () => {
      const tag = fresh('resumed');
      const name = fresh('tagged-sub');
      const options = { filter: { eventTypes: ['R'], tags: [tag], streamPrefix: 'resumed-' }, checkpointEvery: 1 };
      const delivered: number[] = [];
      const handler = (event: RecordedEvent): void => void delivered.push(event.data.i as number);
      await t.store.appendToStream(fresh('resumed'), 'any', [{ eventType: 'R', data: { i: 0 }, tags: [tag] }]);
      const first = t.store.subscribeToAll(name, handler, options);
      await eventually(() => delivered.length === 1);
      await first.unsubscribe();
      await t.store.appendToStream(fresh('resumed'), 'any', [
        { eventType: 'R', data: { i: 1 }, tags: [tag] },
        { eventType: 'R', data: { i: 2 } },
      ]);
      const again = t.store.subscribeToAll(name, handler, options);
      subscriptions.push(again);
      await eventually(() => delivered.length === 2);
      await t.allVisible();
      await again.waitUntilCaughtUp();
      expect(delivered).toEqual([0, 1]);
    });
  });
});
