import { randomUUID } from 'node:crypto';
import {
  DuplicateEventError,
  InvalidArgumentError,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type RecordedEvent,
  type Subscription,
} from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

/** An event's place in the stream it was read from: its link's version when read through a link. */
const place = (event: RecordedEvent): number => event.link?.streamVersion ?? event.streamVersion;
const places = (events: RecordedEvent[]): number[] => events.map(place);
const ids = (events: RecordedEvent[]): string[] => events.map((event) => event.eventId);

describe('linkToStream: stored events in another stream', () => {
  let t: TestStore;
  let n = 0;
  const fresh = (label = 'stream'): string => `${label}-${++n}`;

  beforeAll(async () => {
    t = await createTestStore({}, 'links');
  });
  afterAll(async () => {
    await t.close();
  });

  /** A new stream of `count` events (tagged, with metadata), as read back. */
  async function source(count: number): Promise<RecordedEvent[]> {
    const streamId = fresh('source');
    await t.store.appendToStream(
      streamId,
      'no_stream',
      someEvents(count, 'Sourced').map((event, i) => ({ ...event, metadata: { i }, tags: [`i:${i}`] })),
    );
    return t.store.readStreamForward(streamId);
  }

  /** Every event of `$all`, read behind nothing but the store's own reads. */
  async function everything(): Promise<RecordedEvent[]> {
    await t.allVisible();
    return (await t.store.readAllForward({ maxCount: 10_000 })).events;
  }

  async function danglingLinks(): Promise<number> {
    const { rows } = await t.sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${t.schema}".stream_links l
        WHERE NOT EXISTS (SELECT 1 FROM "${t.schema}".events e WHERE e.global_position = l.global_position)`,
    );
    return Number(rows[0]!.n);
  }

  /**
   * Target: own A (1), link of s[0] (2), own B, C (3, 4), links of s[2], s[1] (5, 6), own D (7).
   * Each write states the version it expects, so a link that did not count as a version fails.
   */
  async function mixed(): Promise<{ target: string; s: RecordedEvent[]; expected: string[] }> {
    const s = await source(3);
    const target = fresh('target');
    await t.store.appendToStream(target, 'no_stream', [{ eventId: randomUUID(), eventType: 'Own', data: { name: 'A' } }]);
    await t.store.linkToStream(target, 1, [s[0]!.eventId]);
    await t.store.appendToStream(target, 2, [
      { eventType: 'Own', data: { name: 'B' } },
      { eventType: 'Own', data: { name: 'C' } },
    ]);
    await t.store.linkToStream(target, 4, [s[2]!.eventId, s[1]!.eventId]);
    await t.store.appendToStream(target, 6, [{ eventType: 'Own', data: { name: 'D' } }]);
    const own = (await t.store.readStreamForward(target)).filter((event) => event.link === undefined);
    const expected = [own[0]!, s[0]!, own[1]!, own[2]!, s[2]!, s[1]!, own[3]!].map((event) => event.eventId);
    return { target, s, expected };
  }

  describe('reading a linked event', () => {
    it('keeps its own id, type, data, tags, stream, version and position, and tells where it was linked', async () => {
      const [first, second] = await source(2);
      const target = fresh('target');
      const result = await t.store.linkToStream(target, 'no_stream', [second!.eventId, first!.eventId]);
      expect(result).toEqual({ streamId: target, fromVersion: 1, toVersion: 2, firstPosition: null, lastPosition: null });

      const read = await t.store.readStreamForward(target);
      expect(read).toEqual([
        { ...second, link: { streamId: target, streamVersion: 1, linkedAt: expect.any(Date) } },
        { ...first, link: { streamId: target, streamVersion: 2, linkedAt: expect.any(Date) } },
      ]);
      expect(read[0]).toMatchObject({ streamId: first!.streamId, streamVersion: 2, tags: ['i:1'], metadata: { i: 1 } });
      expect(await t.store.streamInfo(target)).toMatchObject({ version: 2, deleted: false });
      // The source reads as before: no link there.
      expect(await t.store.readStreamForward(first!.streamId)).toEqual([first, second]);
    });

    it('$all holds the event once, without a link', async () => {
      const [event] = await source(1);
      await t.store.linkToStream(fresh('target'), 'any', [event!.eventId]);
      await t.store.linkToStream(fresh('target'), 'any', [event!.eventId]);
      const all = await everything();
      expect(all.filter((e) => e.eventId === event!.eventId)).toEqual([event]);
      expect(all.some((e) => e.link !== undefined)).toBe(false);
    });

    it('own events and links read in version order, forward and backward, page by page', async () => {
      const { target, expected } = await mixed();
      const forward = await t.store.readStreamForward(target);
      expect(places(forward)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(ids(forward)).toEqual(expected);
      expect(forward.filter((event) => event.link !== undefined).map((event) => event.link!.streamId)).toEqual([target, target, target]);

      const backward = await t.store.readStreamBackward(target);
      expect(ids(backward)).toEqual([...expected].reverse());

      const pageForward = async (fromVersion: number) => places(await t.store.readStreamForward(target, { fromVersion, maxCount: 3 }));
      expect([await pageForward(1), await pageForward(4), await pageForward(7), await pageForward(8)]).toEqual([
        [1, 2, 3],
        [4, 5, 6],
        [7],
        [],
      ]);
      const pageBackward = async (fromVersion?: number) => places(await t.store.readStreamBackward(target, { fromVersion, maxCount: 3 }));
      expect([await pageBackward(), await pageBackward(4), await pageBackward(1)]).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
      expect(places(await t.store.readStreamForward(target, { fromVersion: 2, maxCount: 1 }))).toEqual([2]);
      expect(places(await t.store.readStreamBackward(target, { fromVersion: 5, maxCount: 2 }))).toEqual([5, 4]);
    });

    it('streamForward and streamBackward iterate own events and links alike, paging internally', async () => {
      const { target, expected } = await mixed();
      for (const maxCount of [1, 2, 3, 100]) {
        const forward: RecordedEvent[] = [];
        for await (const event of t.store.streamForward(target, { maxCount })) forward.push(event);
        expect(ids(forward)).toEqual(expected);
        const backward: RecordedEvent[] = [];
        for await (const event of t.store.streamBackward(target, { maxCount })) backward.push(event);
        expect(ids(backward)).toEqual([...expected].reverse());
      }
    });
  });

  describe('writing links', () => {
    it('follows the expected-version rules of appends', async () => {
      const [event] = await source(1);
      const missing = fresh('target');
      await expect(t.store.linkToStream(missing, 'stream_exists', [event!.eventId])).rejects.toMatchObject({
        code: 'STREAM_NOT_FOUND',
        details: { streamId: missing },
      });
      const wrong = await t.store.linkToStream(missing, 2, [event!.eventId]).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
      expect(wrong).toMatchObject({ details: { streamId: missing, expectedVersion: 2, actualVersion: 0 } });
      await expect(t.store.streamInfo(missing)).rejects.toBeInstanceOf(StreamNotFoundError);

      const existing = fresh('target');
      await t.store.appendToStream(existing, 'no_stream', someEvents(2));
      await expect(t.store.linkToStream(existing, 'no_stream', [event!.eventId])).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        details: { streamId: existing, actualVersion: 2 },
      });
      expect(await t.store.linkToStream(existing, 'stream_exists', [event!.eventId])).toMatchObject({ fromVersion: 3, toVersion: 3 });
      await t.store.deleteStream(existing, 3);
      await expect(t.store.linkToStream(existing, 'any', [(await source(1))[0]!.eventId])).rejects.toBeInstanceOf(StreamDeletedError);
    });

    it('a re-send of the same links succeeds again, storing nothing; the same event at another place is DUPLICATE_EVENT', async () => {
      const s = await source(3);
      const target = fresh('target');
      const first = await t.store.linkToStream(target, 'no_stream', [s[0]!.eventId, s[1]!.eventId]);
      expect(await t.store.linkToStream(target, 'no_stream', [s[0]!.eventId, s[1]!.eventId])).toEqual(first);
      expect(await t.store.linkToStream(target, 'any', [s[0]!.eventId, s[1]!.eventId])).toEqual(first);
      await t.store.appendToStream(target, 2, someEvents(1));
      expect(await t.store.linkToStream(target, 0, [s[0]!.eventId, s[1]!.eventId])).toEqual(first);

      for (const [expected, eventIds] of [
        [3, [s[0]!.eventId]],
        [3, [s[1]!.eventId, s[0]!.eventId]],
        ['any', [s[2]!.eventId, s[0]!.eventId]],
        ['any', [s[1]!.eventId, s[2]!.eventId]],
      ] as const) {
        const error = await t.store.linkToStream(target, expected, eventIds).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateEventError);
        expect(error).toMatchObject({ code: 'DUPLICATE_EVENT', details: { streamId: target } });
      }
      expect(places(await t.store.readStreamForward(target))).toEqual([1, 2, 3]);
      expect((await t.store.streamInfo(target)).version).toBe(3);
    });

    it('concurrent re-sends of one link call store it once', async () => {
      const s = await source(2);
      const target = fresh('target');
      const results = await Promise.all(Array.from({ length: 6 }, () => t.store.linkToStream(target, 'any', ids(s))));
      expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
      expect(places(await t.store.readStreamForward(target))).toEqual([1, 2]);
    });

    it('refuses an unknown id, an event of the target itself, no ids, a bad id and a repeated id, storing nothing', async () => {
      const [event] = await source(1);
      const target = fresh('target');
      await t.store.appendToStream(target, 'no_stream', someEvents(1));
      const [own] = await t.store.readStreamForward(target);
      const unknown = randomUUID();

      const notStored = await t.store.linkToStream(target, 'any', [event!.eventId, unknown]).catch((e: unknown) => e);
      expect(notStored).toBeInstanceOf(InvalidArgumentError);
      expect(notStored).toMatchObject({ code: 'INVALID_ARGUMENT', details: { streamId: target, eventId: unknown } });
      const itself = await t.store.linkToStream(target, 'any', [event!.eventId, own!.eventId]).catch((e: unknown) => e);
      expect(itself).toBeInstanceOf(InvalidArgumentError);
      expect(itself).toMatchObject({ code: 'INVALID_ARGUMENT', details: { streamId: target, eventId: own!.eventId } });
      for (const eventIds of [[], ['not-a-uuid'], [event!.eventId, event!.eventId], 'x' as unknown as string[]]) {
        await expect(t.store.linkToStream(target, 'any', eventIds)).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      await expect(t.store.linkToStream('$all', 'any', [event!.eventId])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await t.store.readStreamForward(target)).toEqual([own]);
    });
  });

  describe('deletion', () => {
    it('soft-deleting the source keeps its links readable', async () => {
      const s = await source(2);
      const target = fresh('target');
      await t.store.linkToStream(target, 'no_stream', ids(s));
      await t.store.deleteStream(s[0]!.streamId, 2);
      await expect(t.store.readStreamForward(s[0]!.streamId)).rejects.toBeInstanceOf(StreamDeletedError);
      expect(ids(await t.store.readStreamForward(target))).toEqual(ids(s));
      // Still linkable elsewhere: the events are stored.
      expect(await t.store.linkToStream(fresh('target'), 'any', [s[1]!.eventId])).toMatchObject({ fromVersion: 1 });
    });

    it('hard-deleting the source removes its links: the target keeps its version and reads show the gap', async () => {
      const s = await source(2);
      const target = fresh('target');
      await t.store.appendToStream(target, 'no_stream', someEvents(1, 'Own'));
      await t.store.linkToStream(target, 1, ids(s));
      await t.store.appendToStream(target, 3, someEvents(1, 'Own', 1));
      await t.store.deleteStream(s[0]!.streamId, 'any', { mode: 'hard' });

      expect(places(await t.store.readStreamForward(target))).toEqual([1, 4]);
      expect(places(await t.store.readStreamBackward(target))).toEqual([4, 1]);
      expect(places(await t.store.readStreamForward(target, { fromVersion: 2, maxCount: 1 }))).toEqual([4]);
      const iterated: number[] = [];
      for await (const event of t.store.streamForward(target, { maxCount: 1 })) iterated.push(place(event));
      expect(iterated).toEqual([1, 4]);
      expect((await t.store.streamInfo(target)).version).toBe(4);
      expect(await t.store.appendToStream(target, 4, someEvents(1))).toMatchObject({ fromVersion: 5 });
      await expect(t.store.linkToStream(target, 'any', [s[0]!.eventId])).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await danglingLinks()).toBe(0);
    });

    it('soft-deleting the target: its reads and links are STREAM_DELETED; the linked events stay', async () => {
      const s = await source(2);
      const target = fresh('target');
      await t.store.linkToStream(target, 'no_stream', ids(s));
      await t.store.deleteStream(target, 2);
      await expect(t.store.readStreamForward(target)).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(t.store.readStreamBackward(target)).rejects.toMatchObject({ code: 'STREAM_DELETED', details: { streamId: target } });
      await expect(t.store.linkToStream(target, 'any', [(await source(1))[0]!.eventId])).rejects.toBeInstanceOf(StreamDeletedError);
      expect(await t.store.readStreamForward(s[0]!.streamId)).toEqual(s);
    });

    it('hard-deleting the target removes its links; the events stay in their streams and $all; the id starts again', async () => {
      const s = await source(2);
      const target = fresh('target');
      await t.store.appendToStream(target, 'no_stream', someEvents(1, 'Own'));
      await t.store.linkToStream(target, 1, ids(s));
      const [own] = await t.store.readStreamForward(target, { maxCount: 1 });
      await t.store.deleteStream(target, 3, { mode: 'hard' });

      await expect(t.store.readStreamForward(target)).rejects.toBeInstanceOf(StreamNotFoundError);
      expect(await t.store.readStreamForward(s[0]!.streamId)).toEqual(s);
      const all = ids(await everything());
      expect(all).toEqual(expect.arrayContaining(ids(s)));
      expect(all).not.toContain(own!.eventId);
      const { rows } = await t.sql.query(`SELECT 1 FROM "${t.schema}".stream_links WHERE stream_id = $1`, [target]);
      expect(rows).toEqual([]);
      // The same events link into the reused id from version 1.
      expect(await t.store.linkToStream(target, 'no_stream', [s[1]!.eventId])).toMatchObject({ fromVersion: 1, toVersion: 1 });
    });

    it('a link racing a hard delete of its source either fails or is removed with the source: no link outlives its event', async () => {
      const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const outcomes = await Promise.all(
        Array.from({ length: 24 }, async (_, i) => {
          const [event] = await source(1);
          const target = fresh('target');
          // Either side a few milliseconds late, so that each comes first in some rounds.
          const [linked] = await Promise.allSettled([
            after(i % 2 === 0 ? i % 5 : 0).then(() => t.store.linkToStream(target, 'any', [event!.eventId])),
            after(i % 2 === 1 ? i % 5 : 0).then(() => t.store.deleteStream(event!.streamId, 'any', { mode: 'hard' })),
          ]);
          if (linked.status === 'rejected') expect(linked.reason).toBeInstanceOf(InvalidArgumentError);
          const read = await t.store.readStreamForward(target).catch((e: unknown) => e);
          if (linked.status === 'fulfilled') expect(read).toEqual([]);
          else expect(read).toBeInstanceOf(StreamNotFoundError);
          return linked.status;
        }),
      );
      expect(outcomes).toHaveLength(24);
      expect(await danglingLinks()).toBe(0);
    });
  });

  describe('subscriptions to the target stream', () => {
    const subscriptions: Subscription[] = [];
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
    });

    /** Links one more event and appends one own event: places 8 and 9 of a {@link mixed} target. */
    async function liveWrites(target: string): Promise<string[]> {
      const [late] = await source(1);
      await t.store.linkToStream(target, 7, [late!.eventId]);
      await t.store.appendToStream(target, 8, [{ eventType: 'Own', data: { name: 'E' } }]);
      const [, own] = await t.store.readStreamBackward(target, { maxCount: 2 }).then((events) => events.reverse());
      return [late!.eventId, own!.eventId];
    }

    it.each(['transient', 'persistent'] as const)(
      'a %s subscription delivers own events and links (with link set) in version order, also live',
      async (kind) => {
        const { target, expected } = await mixed();
        const delivered: RecordedEvent[] = [];
        const handler = (event: RecordedEvent): void => void delivered.push(event);
        const subscription =
          kind === 'transient' ? t.store.subscribe(target, handler) : t.store.subscribeToStream(target, fresh('sub'), handler);
        subscriptions.push(subscription);
        await subscription.waitUntilCaughtUp();
        await eventually(() => delivered.length === 7);
        expect(ids(delivered)).toEqual(expected);
        expect(delivered.map((event) => event.link?.streamVersion ?? null)).toEqual([null, 2, null, null, 5, 6, null]);

        const live = await liveWrites(target);
        await eventually(() => delivered.length === 9);
        expect(ids(delivered)).toEqual([...expected, ...live]);
        expect(places(delivered)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(delivered[7]!.link).toMatchObject({ streamId: target, streamVersion: 8 });
        expect(subscription.position).toBe(9);
      },
    );

    it('a subscription filtered by event types gets the linked events of those types, and moves past the others', async () => {
      const { target, s } = await mixed();
      const delivered: RecordedEvent[] = [];
      const subscription = t.store.subscribe(target, (event) => void delivered.push(event), { filter: { eventTypes: ['Sourced'] } });
      subscriptions.push(subscription);
      await eventually(() => delivered.length === 3);
      await subscription.waitUntilCaughtUp();
      expect(ids(delivered)).toEqual([s[0]!.eventId, s[2]!.eventId, s[1]!.eventId]);
      expect(subscription.position).toBe(7);
    });

    it('a persistent subscription resumes after the last link it handled', async () => {
      const { target, expected } = await mixed();
      const name = fresh('sub');
      const delivered: RecordedEvent[] = [];
      const first = t.store.subscribeToStream(target, name, (event) => void delivered.push(event), { checkpointEvery: 1 });
      await eventually(() => delivered.length === 7);
      await first.unsubscribe();

      const live = await liveWrites(target);
      const again = t.store.subscribeToStream(target, name, (event) => void delivered.push(event));
      subscriptions.push(again);
      await eventually(() => delivered.length === 9);
      await again.waitUntilCaughtUp();
      expect(ids(delivered)).toEqual([...expected, ...live]);
    });
  });
});

/**
 * Another process links into a stream that a subscription here waits on. A notification is only a
 * hint (docs/design.md): with none at all (`notifications: 'poll'`), this process's look for new
 * writes must still find the link.
 */
describe('links made by another process', () => {
  let writer: TestStore;
  let reader: TestStore;

  beforeAll(async () => {
    writer = await createTestStore({}, 'links-processes');
    reader = await createTestStore({ schema: writer.schema, notifications: 'poll', notificationPollIntervalMs: 50 });
  });
  afterAll(async () => {
    // The reader shares the writer's schema: only the writer drops it.
    await reader.app.close();
    await reader.sql.end();
    await writer.close();
  });

  it('reach a subscription of a process that only polls', async () => {
    await writer.store.appendToStream('far-source', 'no_stream', someEvents(2));
    const [first, second] = await writer.store.readStreamForward('far-source');
    await writer.store.linkToStream('far-target', 'no_stream', [first!.eventId]);
    const delivered: RecordedEvent[] = [];
    const subscription = reader.store.subscribe('far-target', (event) => void delivered.push(event));
    try {
      await eventually(() => delivered.length === 1);
      await writer.store.linkToStream('far-target', 1, [second!.eventId]);
      await eventually(() => delivered.length === 2, 5_000);
      expect(delivered.map((event) => [event.eventId, event.link?.streamVersion])).toEqual([
        [first!.eventId, 1],
        [second!.eventId, 2],
      ]);
    } finally {
      await subscription.unsubscribe();
    }
  });
});
