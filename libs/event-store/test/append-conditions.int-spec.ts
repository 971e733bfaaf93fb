import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppendConditionFailedError,
  InvalidArgumentError,
  type AppendCondition,
  type AppendResult,
  type EventData,
} from '@game-bot/event-store';
import type pg from 'pg';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

const RACERS = 16;

/** A claim of `word` in guild 7, and the condition that keeps it unique. */
const claimOf = (word: string): EventData => ({ eventType: 'WordClaimed', data: { word }, tags: ['guild:7', `word:${word}`] });
const unclaimed = (word: string, after?: number): AppendCondition => ({
  failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: ['guild:7', `word:${word}`] }],
  ...(after !== undefined && { after }),
});

describe('append conditions', () => {
  let t: TestStore;
  let n = 0;
  const fresh = (label = 'stream'): string => `${label}-${++n}`;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: RACERS + 8 }, 'conditions');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Runs the racers at once; the winners' results and the losers' errors. */
  async function race<T>(racers: Array<() => Promise<T>>): Promise<{ won: T[]; lost: unknown[] }> {
    const settled = await Promise.allSettled(racers.map((racer) => racer()));
    return {
      won: settled.filter((s): s is PromiseFulfilledResult<Awaited<T>> => s.status === 'fulfilled').map((s) => s.value),
      lost: settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as unknown),
    };
  }

  const claim = (word: string, streamId = fresh('player')): Promise<AppendResult> =>
    t.store.appendToStream(streamId, 'any', [claimOf(word)], { condition: unclaimed(word) });

  /** The position of the last event of the store (a cursor a writer read before deciding). */
  async function end(): Promise<number> {
    const { rows } = await t.sql.query<{ last: string | null }>(`SELECT max(global_position) AS last FROM "${t.schema}".events`);
    return Number(rows[0]!.last ?? 0);
  }

  async function eventsTagged(tags: string[]): Promise<number> {
    await t.allVisible();
    return (await t.store.readAllForward({ maxCount: 1000, filter: { tags } })).events.length;
  }

  describe('racers', () => {
    it('16 racers claiming one word: exactly one wins, the others are told its position; 50 rounds', async () => {
      const started = Date.now();
      for (let round = 0; round < 50; round++) {
        const word = `word${round}`;
        const streams = Array.from({ length: RACERS }, () => fresh('player'));
        const { won, lost } = await race(streams.map((streamId) => () => claim(word, streamId)));

        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(RACERS - 1);
        for (const error of lost) {
          expect(error).toBeInstanceOf(AppendConditionFailedError);
          expect(error).toMatchObject({
            code: 'APPEND_CONDITION_FAILED',
            details: { conflictingPositions: [won[0]!.firstPosition], after: 0 },
          });
        }
        expect(await eventsTagged(['guild:7', `word:${word}`])).toBe(1);
        const { rows } = await t.sql.query(`SELECT 1 FROM "${t.schema}".streams WHERE stream_id = ANY($1) AND version > 0`, [streams]);
        expect(rows).toHaveLength(1);
      }
      expect(Date.now() - started).toBeLessThan(60_000);
    });

    it('16 racers on disjoint tags all win', async () => {
      const { won, lost } = await race(Array.from({ length: RACERS }, (_, i) => () => claim(`disjoint${i}`)));
      expect(lost).toEqual([]);
      expect(won).toHaveLength(RACERS);
    });

    it('event types only: 16 racers "fail if a GameStarted follows P", each writing a GameStarted: one wins; 10 rounds', async () => {
      let after = await end();
      for (let round = 0; round < 10; round++) {
        const { won, lost } = await race(
          Array.from(
            { length: RACERS },
            (_, i) => () =>
              t.store.appendToStream(fresh('game'), 'any', [{ eventType: 'GameStarted', data: { i } }], {
                condition: { failIfEventsMatch: [{ eventTypes: ['GameStarted'] }], after },
              }),
          ),
        );
        expect(won).toHaveLength(1);
        for (const error of lost) expect(error).toMatchObject({ details: { conflictingPositions: [won[0]!.firstPosition], after } });
        after = won[0]!.lastPosition;
      }
    });

    it('tags only: 16 racers of 16 event types "fail if one answer of player and day exists": one wins; 10 rounds', async () => {
      for (let round = 0; round < 10; round++) {
        const tags = ['player:p1', `day:${round}`];
        const { won, lost } = await race(
          Array.from(
            { length: RACERS },
            (_, i) => () =>
              t.store.appendToStream(fresh('answers'), 'any', [{ eventType: `Answer${i}`, data: { i }, tags: [...tags].reverse() }], {
                condition: { failIfEventsMatch: [{ tags }] },
              }),
          ),
        );
        expect(won).toHaveLength(1);
        for (const error of lost) expect(error).toMatchObject({ details: { conflictingPositions: [won[0]!.firstPosition] } });
      }
    });

    it('appendToStreams under one condition: one racer wins, the losers store nothing in any of their streams', async () => {
      const word = 'multi-word';
      const racers = Array.from({ length: RACERS }, () => [fresh('player'), fresh('guild')]);
      const { won, lost } = await race(
        racers.map(
          ([player, guild]) =>
            () =>
              t.store.appendToStreams(
                [
                  { streamId: player!, expectedVersion: 'no_stream', events: [claimOf(word)] },
                  { streamId: guild!, expectedVersion: 'no_stream', events: someEvents(2, 'ClaimNoted') },
                ],
                { condition: unclaimed(word) },
              ),
        ),
      );
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(RACERS - 1);
      for (const error of lost) {
        expect(error).toMatchObject({ details: { conflictingPositions: [won[0]!.streams[0]!.firstPosition] } });
      }
      const { rows } = await t.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${t.schema}".events WHERE stream_id = ANY($1)`, [
        racers.flat(),
      ]);
      expect(Number(rows[0]!.n)).toBe(3);
    });
  });

  /**
   * A writer that has taken its locks but not committed: the condition must wait for it, then see
   * its event. A client of the test holds a row the writer needs next, so the writer stops right
   * after its locks, in its transaction; `release` lets it commit.
   */
  describe('writers in flight', () => {
    async function holdStreamRow(streamId: string): Promise<{ release: () => Promise<void> }> {
      const client: pg.PoolClient = await t.sql.connect();
      await client.query('BEGIN');
      await client.query(`SELECT 1 FROM "${t.schema}".streams WHERE stream_id = $1 FOR UPDATE`, [streamId]);
      return { release: () => client.query('COMMIT').then(() => client.release()) };
    }

    /** Holds the creation of stream `streamId`: an insert of its row that has not committed. */
    async function holdNewStream(streamId: string): Promise<{ release: () => Promise<void> }> {
      const client: pg.PoolClient = await t.sql.connect();
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${t.schema}".streams (stream_id) VALUES ($1)`, [streamId]);
      return { release: () => client.query('ROLLBACK').then(() => client.release()) };
    }

    /** Whether `promise` is still pending after a moment. */
    async function pending(promise: Promise<unknown>): Promise<boolean> {
      const marker = Symbol('pending');
      const first = await Promise.race([
        promise.then(
          () => 'settled',
          () => 'settled',
        ),
        sleep(300).then(() => marker),
      ]);
      return first === marker;
    }

    /** Waits until a statement on this store's schema waits for a row lock (the held one). */
    async function writerBlocked(): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await t.sql.query(
          `SELECT 1 FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') AND position($1 IN query) > 0`,
          [t.schema],
        );
        if (rows.length > 0) return;
        if (Date.now() > deadline) throw new Error('the writer never reached the held row');
        await sleep(5);
      }
    }

    /**
     * `write` appends matching events while a client holds a row it needs after its locks; the
     * conditional append starts once it waits there. The conditional must wait for the writer,
     * then fail on its events: by default all of them (one or two).
     */
    async function conditionWaitsFor(
      hold: () => Promise<{ release: () => Promise<void> }>,
      write: () => Promise<AppendResult>,
      condition: AppendCondition,
      options: { conflicts?: (written: AppendResult) => number[]; whileHeld?: () => Promise<void> } = {},
    ): Promise<void> {
      const held = await hold();
      const writing = write();
      writing.catch(() => undefined);
      let conditional: Promise<unknown> | undefined;
      try {
        await writerBlocked();
        await options.whileHeld?.();
        conditional = t.store.appendToStream(fresh('checker'), 'any', someEvents(1, 'Checked'), { condition });
        conditional.catch(() => undefined);
        expect(await Promise.all([pending(writing), pending(conditional)])).toEqual([true, true]);
      } finally {
        await held.release();
      }
      const written = await writing;
      const { firstPosition, lastPosition } = written;
      const conflicts = options.conflicts?.(written) ?? (firstPosition === lastPosition ? [firstPosition] : [firstPosition, lastPosition]);
      await expect(conditional).rejects.toMatchObject({ code: 'APPEND_CONDITION_FAILED', details: { conflictingPositions: conflicts } });
    }

    /** The tag-space locks (two-key advisory locks of this store's seed) that sessions hold now. */
    async function tagSpaceLocks(): Promise<number> {
      const seed = createHash('sha256').update(`"${t.schema}"`).digest().readInt32BE(0) >>> 0;
      const { rows } = await t.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1::oid AND granted`,
        [seed],
      );
      return Number(rows[0]!.n);
    }

    /** What PostgreSQL's shared lock table holds per connection: one write must stay within it. */
    async function lockBudget(): Promise<number> {
      const { rows } = await t.sql.query<{ max_locks_per_transaction: string }>('SHOW max_locks_per_transaction');
      return Number(rows[0]!.max_locks_per_transaction);
    }

    it.each([1, 2])('a condition on event types waits for a plain one-statement append of %i event(s) of that type', async (count) => {
      const streamId = fresh('plain');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'Other'));
      const after = await end();
      const type = `PlainStarted${count}`;
      await conditionWaitsFor(
        () => holdStreamRow(streamId),
        () => t.store.appendToStream(streamId, 'any', someEvents(count, type)),
        { failIfEventsMatch: [{ eventTypes: [type] }], after },
      );
    });

    it("a condition on event types waits for a plain append that creates its stream (the store's append function)", async () => {
      const streamId = fresh('plain-new');
      const after = await end();
      await conditionWaitsFor(
        () => holdNewStream(streamId),
        () => t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'NewGameStarted')),
        { failIfEventsMatch: [{ eventTypes: ['NewGameStarted'] }], after },
      );
    });

    it.each([
      ['event types and tags', 'in-flight', unclaimed('in-flight')],
      ['tags alone', 'in-flight-2', { failIfEventsMatch: [{ tags: ['word:in-flight-2', 'guild:7'] }] }],
    ])('a condition on %s waits for a tagged append', async (_, word, condition) => {
      const streamId = fresh('tagged');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'Other'));
      await conditionWaitsFor(
        () => holdStreamRow(streamId),
        () => t.store.appendToStream(streamId, 1, [claimOf(word)]),
        condition,
      );
    });

    it('an append of 10,000 events with a tag each stays within the lock table, and a condition waits for it', async () => {
      const streamId = fresh('bulk');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'Other'));
      const events = Array.from({ length: 10_000 }, (_, i) => ({ eventType: 'Bulk', data: { i }, tags: [`bulk:${i}`, 'bulk'] }));
      await conditionWaitsFor(
        () => holdStreamRow(streamId),
        () => t.store.appendToStream(streamId, 1, events),
        { failIfEventsMatch: [{ eventTypes: ['Bulk'], tags: ['bulk:4321'] }] },
        {
          conflicts: (written) => [written.firstPosition + 4321],
          whileHeld: async () => expect(await tagSpaceLocks()).toBeLessThanOrEqual(await lockBudget()),
        },
      );
      await t.allVisible();
      expect((await t.store.readAllForward({ maxCount: 10_000, filter: { tags: ['bulk'] } })).events).toHaveLength(10_000);
    });

    it('so does a plain append of 100 event types, and a condition on one of them waits for it', async () => {
      const streamId = fresh('kinds');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'Other'));
      const after = await end();
      await conditionWaitsFor(
        () => holdStreamRow(streamId),
        () =>
          t.store.appendToStream(
            streamId,
            'any',
            Array.from({ length: 100 }, (_, i) => ({ eventType: `Kind${i}`, data: {} })),
          ),
        { failIfEventsMatch: [{ eventTypes: ['Kind57'] }], after },
        {
          conflicts: (written) => [written.firstPosition + 57],
          whileHeld: async () => expect(await tagSpaceLocks()).toBeLessThanOrEqual(await lockBudget()),
        },
      );
    });

    it('a multi-stream append of many tags waits for a condition in flight, and then is seen by the next one', async () => {
      const word = 'bulk-word';
      const streamId = fresh('checker');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1, 'Other'));
      const held = await holdStreamRow(streamId);
      // A conditional append that has its locks (the whole tag space's among them, shared) and waits on the held row.
      const conditional = t.store.appendToStream(streamId, 1, [claimOf(word)], { condition: unclaimed(word) });
      conditional.catch(() => undefined);
      let bulk: Promise<unknown> | undefined;
      try {
        await writerBlocked();
        const events = Array.from({ length: 200 }, (_, i) => ({
          ...claimOf(word),
          data: { i },
          tags: ['guild:7', `word:${word}`, `n:${i}`],
        }));
        bulk = t.store.appendToStreams([{ streamId: fresh('bulk'), expectedVersion: 'any', events }]);
        bulk.catch(() => undefined);
        expect(await pending(bulk)).toBe(true);
      } finally {
        await held.release();
      }
      const claimed = await conditional;
      await bulk;
      await expect(t.store.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word) })).rejects.toMatchObject({
        details: { conflictingPositions: expect.arrayContaining([(claimed as AppendResult).firstPosition]) },
      });
    });
  });

  describe('what a condition matches', () => {
    it('`after` is a cursor: events up to it do not count, an event after it does', async () => {
      const word = 'after-word';
      const earlier = await claim(word);
      const seen = await end();
      const passed = await t.store.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word, seen) });
      const error = await t.store
        .appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word, seen) })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'APPEND_CONDITION_FAILED',
        details: { conflictingPositions: [passed.firstPosition], after: seen },
      });
      await expect(
        t.store.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word, earlier.firstPosition - 1) }),
      ).rejects.toMatchObject({ details: { conflictingPositions: [earlier.firstPosition, passed.firstPosition] } });
      expect(
        await t.store.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word, passed.lastPosition) }),
      ).toMatchObject({ fromVersion: 1 });
    });

    it('items are alternatives; in an item types are alternatives and every tag must be there', async () => {
      const streamId = fresh('matching');
      const stored = await t.store.appendToStream(streamId, 'no_stream', [
        { eventType: 'B', data: {}, tags: ['x', 'y'] },
        { eventType: 'C', data: {}, tags: ['z'] },
      ]);
      const [b, c] = [stored.firstPosition, stored.lastPosition];
      const after = b - 1;
      const check = (failIfEventsMatch: AppendCondition['failIfEventsMatch']) =>
        t.store.appendToStream(fresh('checker'), 'any', someEvents(1, 'Checked'), { condition: { failIfEventsMatch, after } }).then(
          () => [],
          (error: AppendConditionFailedError) => error.details.conflictingPositions as number[],
        );
      expect(await check([{ eventTypes: ['A', 'B'], tags: ['y'] }])).toEqual([b]);
      expect(await check([{ eventTypes: ['B'], tags: ['y', 'x'] }])).toEqual([b]);
      expect(await check([{ eventTypes: ['B'], tags: ['x', 'z'] }])).toEqual([]);
      expect(await check([{ eventTypes: ['A'], tags: ['x'] }])).toEqual([]);
      expect(await check([{ tags: ['z'] }, { eventTypes: ['B'] }])).toEqual([b, c]);
      expect(await check([{ eventTypes: ['C', 'B'] }])).toEqual([b, c]);
      expect(await check([{ tags: ['x', 'y', 'z'] }])).toEqual([]);
      expect(await check([{ eventTypes: ['Checked'], tags: ['x'] }])).toEqual([]);
    });

    it('reports the first 100 conflicting positions, in $all order', async () => {
      const after = await end();
      const many = await t.store.appendToStream(
        fresh('many'),
        'no_stream',
        Array.from({ length: 120 }, (_, i) => ({ eventType: 'Many', data: { i }, tags: ['many'] })),
      );
      const error = (await t.store
        .appendToStream(fresh('checker'), 'any', someEvents(1), { condition: { failIfEventsMatch: [{ tags: ['many'] }], after } })
        .catch((e: unknown) => e)) as AppendConditionFailedError;
      const positions = error.details.conflictingPositions as number[];
      expect(positions).toHaveLength(100);
      expect(positions[0]).toBe(many.firstPosition);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    });

    it('a cursor at a hard-deleted event is still valid', async () => {
      const gone = await t.store.appendToStream(fresh('gone'), 'no_stream', someEvents(1));
      await t.store.deleteStream(gone.streamId, 'any', { mode: 'hard' });
      const word = 'after-deleted';
      expect(
        await t.store.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word, gone.lastPosition) }),
      ).toMatchObject({ fromVersion: 1 });
    });
  });

  describe('conditions on appendToStreams and linkToStream', () => {
    it('a failed condition on appendToStreams stores nothing', async () => {
      const word = 'multi-failed';
      const first = await claim(word);
      const streams = [fresh('a'), fresh('b')];
      const error = await t.store
        .appendToStreams(
          streams.map((streamId) => ({ streamId, expectedVersion: 'any' as const, events: someEvents(1) })),
          { condition: unclaimed(word) },
        )
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'APPEND_CONDITION_FAILED', details: { conflictingPositions: [first.firstPosition] } });
      const { rows } = await t.sql.query(`SELECT 1 FROM "${t.schema}".streams WHERE stream_id = ANY($1)`, [streams]);
      expect(rows).toEqual([]);
    });

    it('linkToStream links under its condition, and links nothing when it fails', async () => {
      const source = await t.store.appendToStream(fresh('source'), 'no_stream', [
        { eventId: randomUUID(), eventType: 'Highlight', data: {} },
      ]);
      const [event] = await t.store.readStreamForward(source.streamId);
      const target = fresh('highlights');
      const condition: AppendCondition = { failIfEventsMatch: [{ eventTypes: ['HighlightsClosed'], tags: [`list:${target}`] }] };
      expect(await t.store.linkToStream(target, 'no_stream', [event!.eventId], { condition })).toMatchObject({ toVersion: 1 });
      const closed = await t.store.appendToStream(fresh('lists'), 'any', [
        { eventType: 'HighlightsClosed', data: {}, tags: [`list:${target}`] },
      ]);
      const [other] = await t.store.readStreamForward(closed.streamId);
      const error = await t.store.linkToStream(target, 1, [other!.eventId], { condition }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'APPEND_CONDITION_FAILED', details: { conflictingPositions: [closed.firstPosition] } });
      expect((await t.store.readStreamForward(target)).map((e) => e.eventId)).toEqual([event!.eventId]);
    });
  });

  describe('re-sends', () => {
    it('the re-send of a conditional append that succeeded succeeds again, though its own event matches the condition', async () => {
      const word = 'resent';
      const events = [{ ...claimOf(word), eventId: randomUUID() }];
      const streamId = fresh('player');
      const first = await t.store.appendToStream(streamId, 'no_stream', events, { condition: unclaimed(word) });
      expect(await t.store.appendToStream(streamId, 'no_stream', events, { condition: unclaimed(word) })).toEqual(first);
      expect(await t.store.appendToStream(streamId, 'any', events, { condition: unclaimed(word) })).toEqual(first);
      expect(await eventsTagged(['guild:7', `word:${word}`])).toBe(1);
    });

    it('so does the re-send of a conditional appendToStreams and of a conditional link', async () => {
      const word = 'resent-multi';
      const entries = [
        { streamId: fresh('player'), expectedVersion: 'no_stream' as const, events: [{ ...claimOf(word), eventId: randomUUID() }] },
        { streamId: fresh('guild'), expectedVersion: 'any' as const, events: [{ eventId: randomUUID(), eventType: 'Noted', data: {} }] },
      ];
      const first = await t.store.appendToStreams(entries, { condition: unclaimed(word) });
      expect(await t.store.appendToStreams(entries, { condition: unclaimed(word) })).toEqual(first);

      const target = fresh('claims');
      const eventId = entries[0]!.events[0]!.eventId;
      const linked = await t.store.linkToStream(target, 'no_stream', [eventId], {
        condition: unclaimed(word, first.streams[1]!.lastPosition!),
      });
      expect(await t.store.linkToStream(target, 'no_stream', [eventId], { condition: unclaimed(word, 0) })).toEqual(linked);
    });
  });

  describe('refused conditions', () => {
    const refuses = async (condition: unknown, field: string): Promise<void> => {
      const streamId = fresh('refused');
      for (const call of [
        () => t.store.appendToStream(streamId, 'any', someEvents(1), { condition: condition as AppendCondition }),
        () =>
          t.store.appendToStreams([{ streamId, expectedVersion: 'any', events: someEvents(1) }], {
            condition: condition as AppendCondition,
          }),
        () => t.store.linkToStream(streamId, 'any', [randomUUID()], { condition: condition as AppendCondition }),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).details).toHaveProperty([field]);
      }
      await expect(t.store.streamInfo(streamId)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    };

    it('refuses the match-everything item, an empty list, and empty or bad types and tags', async () => {
      await refuses({ failIfEventsMatch: [{}] }, 'condition.failIfEventsMatch[0]');
      await refuses({ failIfEventsMatch: [{ eventTypes: ['A'] }, {}] }, 'condition.failIfEventsMatch[1]');
      await refuses({ failIfEventsMatch: [{ eventTypes: undefined, tags: undefined }] }, 'condition.failIfEventsMatch[0]');
      await refuses({ failIfEventsMatch: [] }, 'condition.failIfEventsMatch');
      await refuses({ failIfEventsMatch: 'A' }, 'condition.failIfEventsMatch');
      await refuses({}, 'condition.failIfEventsMatch');
      await refuses({ failIfEventsMatch: [{ eventTypes: [] }] }, 'condition.failIfEventsMatch[0].eventTypes');
      await refuses({ failIfEventsMatch: [{ tags: [] }] }, 'condition.failIfEventsMatch[0].tags');
      await refuses({ failIfEventsMatch: [{ tags: ['a', ''] }] }, 'condition.failIfEventsMatch[0].tags[1]');
      await refuses({ failIfEventsMatch: [{ eventTypes: ['A', 7] }] }, 'condition.failIfEventsMatch[0].eventTypes[1]');
      await refuses({ failIfEventsMatch: [{ eventTypes: ['A'] }], after: -1 }, 'condition.after');
      await refuses({ failIfEventsMatch: [{ eventTypes: ['A'] }], after: 1.5 }, 'condition.after');
    });

    it('refuses an `after` that is no position of the store', async () => {
      const unknown = (await end()) + 1000;
      const error = await t.store
        .appendToStream(fresh('refused'), 'any', someEvents(1), {
          condition: { failIfEventsMatch: [{ eventTypes: ['A'] }], after: unknown },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { 'condition.after': unknown } });
    });
  });
});
