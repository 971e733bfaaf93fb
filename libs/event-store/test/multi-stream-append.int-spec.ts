import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DuplicateEventError,
  InvalidArgumentError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type ExpectedVersion,
  type RecordedEvent,
  type StreamAppend,
  type StreamAppendResult,
} from '@game-bot/event-store';
import { createTestStore, someEvents, streamStates, type TestStore } from '../../../test/helpers/test-store.js';

/** Events with ids of their own, so that a call can be sent again. */
const withIds = (n: number, eventType = 'Tested'): Array<{ eventId: string; eventType: string; data: { n: number } }> =>
  someEvents(n, eventType).map((event) => ({ ...event, eventId: randomUUID() }));

describe('appendToStreams: one atomic write over several streams', () => {
  let t: TestStore;
  const { fresh, existing, softDeleted } = streamStates(() => t, 'multi');

  beforeAll(async () => {
    t = await createTestStore({}, 'multi');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Every stored event and each stream's version, read behind the store's back. */
  async function storeState(): Promise<{ events: number; last: number; streams: Array<{ stream_id: string; version: string }> }> {
    const { rows } = await t.sql.query<{ events: string; last: string | null }>(
      `SELECT count(*) AS events, max(global_position) AS last FROM "${t.schema}".events`,
    );
    const streams = await t.sql.query<{ stream_id: string; version: string }>(
      `SELECT stream_id, version FROM "${t.schema}".streams ORDER BY stream_id`,
    );
    return { events: Number(rows[0]!.events), last: Number(rows[0]!.last ?? 0), streams: streams.rows };
  }

  /** Fails unless `call` rejects; returns what it rejected with. */
  async function failure(call: Promise<unknown>): Promise<unknown> {
    return call.then(
      (result) => {
        throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
      },
      (error: unknown) => error,
    );
  }

  /** `$all` from `after` to its end, page by page. */
  async function allAfter(after: number): Promise<RecordedEvent[]> {
    await t.allVisible();
    const events: RecordedEvent[] = [];
    let fromPosition = after;
    for (;;) {
      const page = await t.store.readAllForward({ fromPosition, maxCount: 500 });
      events.push(...page.events);
      if (page.events.length < 500) return events;
      fromPosition = page.nextFromPosition!;
    }
  }

  describe('all or nothing', () => {
    it.each([0, 2, 4])(
      'one wrong expected version among 5 entries (entry %i) stores nothing, burns no position, and names the stream',
      async (bad) => {
        const ids = await Promise.all([existing(1), existing(2), existing(3), existing(4), existing(5)]);
        const entries: StreamAppend[] = ids.map((streamId, index) => ({
          streamId,
          expectedVersion: index === bad ? index : index + 1,
          events: someEvents(2, `Entry${index}`),
        }));
        const before = await storeState();

        const error = await failure(t.store.appendToStreams(entries));

        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({
          code: 'WRONG_EXPECTED_VERSION',
          details: { streamId: ids[bad], expectedVersion: bad, actualVersion: bad + 1 },
        });
        expect(await storeState()).toEqual(before);
        for (const [index, streamId] of ids.entries()) {
          expect((await t.store.readStreamForward(streamId)).map((e) => e.eventType)).toEqual(Array(index + 1).fill('Tested'));
        }
        const next = await t.store.appendToStream(fresh(), 'no_stream', someEvents(1));
        expect(next.firstPosition).toBe(before.last + 1);
      },
    );

    it('a failure in the last entry rolls back the streams the earlier entries created', async () => {
      const created = [fresh(), fresh()];
      const missing = fresh();
      const error = await failure(
        t.store.appendToStreams([
          { streamId: created[0]!, expectedVersion: 'no_stream', events: someEvents(1) },
          { streamId: created[1]!, expectedVersion: 'any', events: someEvents(3) },
          { streamId: missing, expectedVersion: 'stream_exists', events: someEvents(1) },
        ]),
      );
      expect(error).toBeInstanceOf(StreamNotFoundError);
      expect(error).toMatchObject({ code: 'STREAM_NOT_FOUND', details: { streamId: missing } });
      for (const streamId of [...created, missing]) {
        await expect(t.store.streamInfo(streamId)).rejects.toBeInstanceOf(StreamNotFoundError);
      }
    });

    it('a soft-deleted stream among the entries is STREAM_DELETED naming it, and nothing is stored', async () => {
      const live = await existing(1);
      const deleted = await softDeleted();
      const before = await storeState();
      const error = await failure(
        t.store.appendToStreams([
          { streamId: live, expectedVersion: 1, events: someEvents(1) },
          { streamId: deleted, expectedVersion: 'any', events: someEvents(1) },
        ]),
      );
      expect(error).toBeInstanceOf(StreamDeletedError);
      expect(error).toMatchObject({ code: 'STREAM_DELETED', details: { streamId: deleted } });
      expect(await storeState()).toEqual(before);
    });
  });

  describe('entries without events: a check of the version only', () => {
    /** A call of a check-only entry on `streamId` beside a write to a new stream. */
    const checked = (streamId: string, expectedVersion: ExpectedVersion, writes = fresh()) =>
      t.store.appendToStreams([
        { streamId, expectedVersion },
        { streamId: writes, expectedVersion: 'no_stream', events: someEvents(1) },
      ]);

    const passes = async (streamId: string, expectedVersion: ExpectedVersion, version: number): Promise<void> => {
      const writes = fresh();
      const { streams } = await checked(streamId, expectedVersion, writes);
      expect(streams[0]).toEqual({ streamId, fromVersion: version + 1, toVersion: version, firstPosition: null, lastPosition: null });
      expect(streams[1]).toMatchObject({ streamId: writes, fromVersion: 1, toVersion: 1 });
      expect(await t.store.readStreamForward(writes)).toHaveLength(1);
    };

    const refused = async (streamId: string, expectedVersion: ExpectedVersion, code: string, details = {}): Promise<void> => {
      const writes = fresh();
      const error = await failure(checked(streamId, expectedVersion, writes));
      expect(error).toMatchObject({ code, details: { streamId, ...details } });
      await expect(t.store.streamInfo(writes)).rejects.toBeInstanceOf(StreamNotFoundError);
    };

    it('any: a missing stream passes (and is not created), an existing one passes, a soft-deleted one is STREAM_DELETED', async () => {
      const missing = fresh();
      await passes(missing, 'any', 0);
      await expect(t.store.streamInfo(missing)).rejects.toBeInstanceOf(StreamNotFoundError);
      await passes(await existing(3), 'any', 3);
      await refused(await softDeleted(), 'any', 'STREAM_DELETED');
    });

    it('no_stream: a missing stream passes, an existing one is WRONG_EXPECTED_VERSION, a soft-deleted one STREAM_DELETED', async () => {
      await passes(fresh(), 'no_stream', 0);
      await passes(fresh(), 0, 0);
      await refused(await existing(2), 'no_stream', 'WRONG_EXPECTED_VERSION', { actualVersion: 2 });
      await refused(await softDeleted(), 'no_stream', 'STREAM_DELETED');
    });

    it('stream_exists: a missing stream is STREAM_NOT_FOUND, an existing one passes, a soft-deleted one STREAM_DELETED', async () => {
      const missing = fresh();
      const error = await failure(checked(missing, 'stream_exists'));
      expect(error).toBeInstanceOf(StreamNotFoundError);
      expect(error).toMatchObject({ details: { streamId: missing } });
      await passes(await existing(1), 'stream_exists', 1);
      await refused(await softDeleted(), 'stream_exists', 'STREAM_DELETED');
    });

    it('n: a missing stream is WRONG_EXPECTED_VERSION (actual 0), n = v passes, n != v fails, soft-deleted STREAM_DELETED', async () => {
      const missing = fresh();
      const error = await failure(checked(missing, 3));
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({ details: { streamId: missing, expectedVersion: 3, actualVersion: 0 } });
      const id = await existing(4);
      await passes(id, 4, 4);
      await refused(id, 3, 'WRONG_EXPECTED_VERSION', { expectedVersion: 3, actualVersion: 4 });
      await refused(id, 5, 'WRONG_EXPECTED_VERSION', { expectedVersion: 5, actualVersion: 4 });
      await refused(await softDeleted(), 2, 'STREAM_DELETED');
    });

    it('an empty events array is a check too; a call of checks alone writes nothing', async () => {
      const a = await existing(2);
      const b = fresh();
      const before = await storeState();
      const { streams } = await t.store.appendToStreams([
        { streamId: a, expectedVersion: 2, events: [] },
        { streamId: b, expectedVersion: 'no_stream' },
      ]);
      expect(streams).toEqual([
        { streamId: a, fromVersion: 3, toVersion: 2, firstPosition: null, lastPosition: null },
        { streamId: b, fromVersion: 1, toVersion: 0, firstPosition: null, lastPosition: null },
      ]);
      expect(await storeState()).toEqual(before);
    });
  });

  describe('re-sends and duplicates', () => {
    it('re-sending a whole call returns the same results and stores nothing twice', async () => {
      const [a, b, c] = [await existing(1), fresh(), fresh()];
      const entries: StreamAppend[] = [
        { streamId: a, expectedVersion: 1, events: withIds(2) },
        { streamId: b, expectedVersion: 'no_stream', events: withIds(1) },
        { streamId: c, expectedVersion: 'any', events: withIds(3) },
      ];
      const first = await t.store.appendToStreams(entries);
      const after = await storeState();
      expect(await t.store.appendToStreams(entries)).toEqual(first);
      expect(await storeState()).toEqual(after);
      // Again after the streams moved on: the call it repeats did succeed.
      await t.store.appendToStream(a, 'any', someEvents(1));
      await t.store.appendToStream(b, 'any', someEvents(1));
      expect(await t.store.appendToStreams(entries)).toEqual(first);
      expect((await t.store.readStreamForward(a)).map((e) => e.streamVersion)).toEqual([1, 2, 3, 4]);
      expect(await t.store.readStreamForward(c)).toHaveLength(3);
    });

    it('concurrent re-sends of one call store it once', async () => {
      const entries: StreamAppend[] = [
        { streamId: fresh(), expectedVersion: 'no_stream', events: withIds(2) },
        { streamId: fresh(), expectedVersion: 'any', events: withIds(2) },
      ];
      const results = await Promise.all(Array.from({ length: 6 }, () => t.store.appendToStreams(entries)));
      expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
      for (const entry of entries) expect(await t.store.readStreamForward(entry.streamId)).toHaveLength(2);
    });

    it("one entry's events stored and another's new is DUPLICATE_EVENT, and the new ones are not stored", async () => {
      const stored = { streamId: fresh(), expectedVersion: 'any' as const, events: withIds(2) };
      await t.store.appendToStreams([stored]);
      const other = fresh();
      for (const entries of [
        [stored, { streamId: other, expectedVersion: 'any' as const, events: withIds(1) }],
        [{ streamId: other, expectedVersion: 'any' as const, events: withIds(1) }, stored],
      ]) {
        const error = await failure(t.store.appendToStreams(entries));
        expect(error).toBeInstanceOf(DuplicateEventError);
        expect(error).toMatchObject({ code: 'DUPLICATE_EVENT', details: { eventId: stored.events[0]!.eventId } });
        await expect(t.store.streamInfo(other)).rejects.toBeInstanceOf(StreamNotFoundError);
      }
    });

    it('an id that a concurrent call stores first is DUPLICATE_EVENT naming the stream of the entry that holds it', async () => {
      for (let round = 0; round < 10; round++) {
        const shared = randomUUID();
        const calls = [0, 1].map(() => [
          { streamId: fresh(), expectedVersion: 'any' as const, events: withIds(1) },
          {
            streamId: fresh(),
            expectedVersion: 'any' as const,
            events: [...withIds(1), { eventId: shared, eventType: 'Shared', data: {} }],
          },
        ]);
        const settled = await Promise.allSettled(calls.map((entries) => t.store.appendToStreams(entries)));
        expect(settled.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
        const lost = settled.findIndex((s) => s.status === 'rejected');
        const { reason } = settled[lost] as PromiseRejectedResult;
        expect(reason).toBeInstanceOf(DuplicateEventError);
        expect(reason).toMatchObject({ details: { eventId: shared, streamId: calls[lost]![1]!.streamId } });
      }
    });

    it('an entry only partly stored, or stored in another stream, is DUPLICATE_EVENT', async () => {
      const events = withIds(2);
      const a = fresh();
      await t.store.appendToStream(a, 'no_stream', events);
      const b = fresh();
      await expect(
        t.store.appendToStreams([{ streamId: a, expectedVersion: 'any', events: [events[0]!, ...withIds(1)] }]),
      ).rejects.toBeInstanceOf(DuplicateEventError);
      await expect(t.store.appendToStreams([{ streamId: b, expectedVersion: 'any', events }])).rejects.toMatchObject({
        code: 'DUPLICATE_EVENT',
        details: { eventId: events[0]!.eventId },
      });
      await expect(t.store.appendToStreams([{ streamId: a, expectedVersion: 1, events }])).rejects.toBeInstanceOf(DuplicateEventError);
      expect(await t.store.readStreamForward(a)).toHaveLength(2);
      await expect(t.store.streamInfo(b)).rejects.toBeInstanceOf(StreamNotFoundError);
    });
  });

  describe('arguments', () => {
    it('the same stream twice in one call is INVALID_ARGUMENT naming the entry', async () => {
      const id = fresh();
      const error = await failure(
        t.store.appendToStreams([
          { streamId: id, expectedVersion: 'any', events: someEvents(1) },
          { streamId: fresh(), expectedVersion: 'any', events: someEvents(1) },
          { streamId: id, expectedVersion: 'any' },
        ]),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { 'streams[2].streamId': id } });
      await expect(t.store.streamInfo(id)).rejects.toBeInstanceOf(StreamNotFoundError);
    });

    it("takes at most 100 streams per call: each is a lock held to its end, and the lock table is the cluster's", async () => {
      const entries = (n: number) =>
        Array.from({ length: n }, () => ({ streamId: fresh(), expectedVersion: 'any' as const, events: someEvents(1) }));
      const refused = await failure(t.store.appendToStreams(entries(101)));
      expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT', details: { streams: 101 } });
      expect((refused as Error).message).toMatch(/1 to 100 entries/);
      const stored = await Promise.all([t.store.appendToStreams(entries(100)), t.store.appendToStreams(entries(100))]);
      expect(stored.map((result) => result.streams.length)).toEqual([100, 100]);
    });

    it('refuses no entries, a bad stream id, a bad expected version and one event id in two entries', async () => {
      const eventId = randomUUID();
      for (const entries of [
        [],
        [{ streamId: '', expectedVersion: 'any' }],
        [{ streamId: '$all', expectedVersion: 'any', events: someEvents(1) }],
        [{ streamId: fresh(), expectedVersion: 'sometimes', events: someEvents(1) }],
        [
          { streamId: fresh(), expectedVersion: 'any', events: [{ eventId, eventType: 'A', data: {} }] },
          { streamId: fresh(), expectedVersion: 'any', events: [{ eventId, eventType: 'B', data: {} }] },
        ],
      ]) {
        await expect(t.store.appendToStreams(entries as StreamAppend[])).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });
  });

  describe('positions and $all', () => {
    it("a call's events are consecutive in $all, in entry order, at the positions the results give", async () => {
      // The end of $all, not the largest position: events of concurrent writers earlier in this
      // file may stand after the largest position in $all order.
      await t.allVisible();
      const before = await t.store.endOf('$all');
      const [a, b, c] = [await existing(2), fresh(), fresh()];
      const { streams } = await t.store.appendToStreams([
        { streamId: a, expectedVersion: 2, events: someEvents(2, 'A') },
        { streamId: b, expectedVersion: 'no_stream' },
        { streamId: c, expectedVersion: 'any', events: someEvents(3, 'C') },
      ]);
      const written = streams.filter((result) => result.firstPosition !== null);
      expect(streams.map(({ streamId, fromVersion, toVersion }) => ({ streamId, fromVersion, toVersion }))).toEqual([
        { streamId: a, fromVersion: 3, toVersion: 4 },
        { streamId: b, fromVersion: 1, toVersion: 0 },
        { streamId: c, fromVersion: 1, toVersion: 3 },
      ]);
      const all = (await allAfter(before)).filter((e) => e.streamId !== a || e.streamVersion > 2);
      expect(all.map((e) => [e.streamId, e.streamVersion, e.eventType])).toEqual([
        [a, 3, 'A'],
        [a, 4, 'A'],
        [c, 1, 'C'],
        [c, 2, 'C'],
        [c, 3, 'C'],
      ]);
      expect(all.map((e) => e.globalPosition)).toEqual([...all.map((e) => e.globalPosition)].sort((x, y) => x - y));
      expect(written.map((result) => [result.firstPosition, result.lastPosition])).toEqual([
        [all[0]!.globalPosition, all[1]!.globalPosition],
        [all[2]!.globalPosition, all[4]!.globalPosition],
      ]);
    });
  });
});

/**
 * Calls over overlapping sets of streams, each naming its streams in another order: a store that
 * locked the streams in the order given would deadlock (PostgreSQL then aborts one of them, which
 * surfaces as an error). Readers tail `$all` meanwhile.
 */
describe('appendToStreams under concurrency', () => {
  const WRITERS = 16;
  const ROUNDS = 12;
  const STREAMS = Array.from({ length: 6 }, (_, i) => `shared-${i}`);
  const READERS = 3;
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: 24 }, 'multi-race');
  });
  afterAll(async () => {
    await t.close();
  });

  interface Call {
    entries: Array<{ streamId: string; ids: string[] }>;
    results: StreamAppendResult[];
  }

  it('16 writers over 6 streams in random orders: no error, every write whole and visible, every reader sees each event once in one order', async () => {
    let writing = true;
    const readers = Array.from({ length: READERS }, () => tail(() => writing));
    const settled = await Promise.allSettled(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    writing = false;
    const failures = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String(s.reason));
    expect(failures).toEqual([]);
    const calls = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    expect(calls).toHaveLength(WRITERS * ROUNDS);
    const committed = calls.flatMap((call) => call.entries.flatMap((entry) => entry.ids));

    // Each stream gap-free, each call's events at the versions its result gives.
    const byId = new Map<string, RecordedEvent>();
    for (const streamId of STREAMS) {
      const events = await t.store.readStreamForward(streamId, { maxCount: 10_000 });
      expect(events.map((e) => e.streamVersion)).toEqual(events.map((_, i) => i + 1));
      for (const event of events) byId.set(event.eventId, event);
    }
    expect(byId.size).toBe(committed.length);
    for (const call of calls) {
      call.entries.forEach((entry, index) => {
        const result = call.results[index]!;
        const stored = entry.ids.map((id) => byId.get(id)!);
        expect(result.streamId).toBe(entry.streamId);
        expect(stored.map((e) => [e.streamId, e.streamVersion])).toEqual(entry.ids.map((_, i) => [entry.streamId, result.fromVersion + i]));
        expect([stored[0]!.globalPosition, stored.at(-1)!.globalPosition]).toEqual([result.firstPosition, result.lastPosition]);
      });
    }

    const seen = await Promise.all(readers);
    const orders = seen.map((events) => events.map((e) => e.eventId));
    for (const order of orders) {
      expect(order).toHaveLength(committed.length);
      expect(new Set(order).size).toBe(order.length);
      expect([...order].sort()).toEqual([...committed].sort());
    }
    for (const order of orders.slice(1)) expect(order).toEqual(orders[0]);
    // Each stream in version order in $all: a call's transaction id is taken after all its stream locks.
    const highest = new Map<string, number>();
    for (const event of seen[0]!) {
      expect(event.streamVersion).toBeGreaterThan(highest.get(event.streamId) ?? 0);
      highest.set(event.streamId, event.streamVersion);
    }
    // Each call's events side by side in $all, in entry order.
    const place = new Map(orders[0]!.map((id, index) => [id, index]));
    for (const call of calls) {
      const places = call.entries.flatMap((entry) => entry.ids.map((id) => place.get(id)!));
      expect(places).toEqual(places.map((_, i) => places[0]! + i));
    }
  });

  /**
   * Mostly calls over 3 of the streams; every fourth round a plain append to one of them (the
   * one-statement append, which takes the stream lock its own way), and every fourth a call
   * under a condition that never matches (its exclusive lock beside the others' shared ones).
   */
  async function writer(w: number): Promise<Call[]> {
    const calls: Call[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const streams = shuffled(STREAMS).slice(0, round % 4 === 3 ? 1 : 3);
      const entries = streams.map((streamId, i) => ({ streamId, ids: Array.from({ length: 1 + ((w + round + i) % 3) }, randomUUID) }));
      const eventsOf = (ids: string[]) =>
        ids.map((eventId, n) => ({ eventId, eventType: 'Shared', data: { w, round, n }, ...(round % 2 === 0 && { tags: [`w:${w}`] }) }));
      if (round % 4 === 3) {
        const [{ streamId, ids }] = entries as [(typeof entries)[number]];
        calls.push({ entries, results: [await t.store.appendToStream(streamId, 'any', eventsOf(ids))] });
        continue;
      }
      const condition = round % 4 === 1 ? { failIfEventsMatch: [{ eventTypes: ['Never'] }] } : undefined;
      const { streams: results } = await t.store.appendToStreams(
        entries.map(({ streamId, ids }) => ({ streamId, expectedVersion: 'any' as const, events: eventsOf(ids) })),
        { condition },
      );
      calls.push({ entries, results });
    }
    return calls;
  }

  function shuffled<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }

  async function tail(writing: () => boolean): Promise<RecordedEvent[]> {
    const seen: RecordedEvent[] = [];
    let cursor = 0;
    let idle = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const { events, nextFromPosition } = await t.store.readAllForward({ fromPosition: cursor, maxCount: 41 });
      seen.push(...events);
      cursor = nextFromPosition!;
      if (events.length > 0) {
        idle = 0;
        continue;
      }
      // Done once writing stopped and everything committed is visible and read.
      if (!writing() && ++idle > 1) {
        await t.allVisible();
        const rest = await t.store.readAllForward({ fromPosition: cursor, maxCount: 10_000 });
        return [...seen, ...rest.events];
      }
      await sleep(2);
    }
    throw new Error(`reader timed out having seen ${seen.length} events`);
  }
});
