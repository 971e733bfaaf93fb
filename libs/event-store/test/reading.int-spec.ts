import { InvalidArgumentError, StreamNotFoundError, type RecordedEvent } from '@game-bot/event-store';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

describe('reading streams and $all, listing, metadata, snapshots', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ defaultPageSize: 4 }, 'reading');
    await t.store.appendToStream('game-1', 'no_stream', someEvents(10, 'GuessProcessed'));
    await t.store.appendToStream('game-2', 'no_stream', someEvents(3, 'GameStarted'));
    await t.store.appendToStream('player-1', 'no_stream', someEvents(2, 'GuessProcessed'));
    await t.store.appendToStream('game-1', 10, someEvents(2, 'GameFinished', 10));
    await t.allVisible();
  });
  afterAll(async () => {
    await t.close();
  });

  const versions = (events: RecordedEvent[]): number[] => events.map((e) => e.streamVersion);

  describe('one stream', () => {
    it('pages forward from a version, inclusive', async () => {
      expect(versions(await t.store.readStreamForward('game-1', { maxCount: 5 }))).toEqual([1, 2, 3, 4, 5]);
      expect(versions(await t.store.readStreamForward('game-1', { fromVersion: 6, maxCount: 5 }))).toEqual([6, 7, 8, 9, 10]);
      expect(versions(await t.store.readStreamForward('game-1', { fromVersion: 11, maxCount: 5 }))).toEqual([11, 12]);
      expect(await t.store.readStreamForward('game-1', { fromVersion: 13 })).toEqual([]);
    });

    it('pages backward from the end or from a version, inclusive', async () => {
      expect(versions(await t.store.readStreamBackward('game-1', { maxCount: 5 }))).toEqual([12, 11, 10, 9, 8]);
      expect(versions(await t.store.readStreamBackward('game-1', { fromVersion: 3, maxCount: 5 }))).toEqual([3, 2, 1]);
    });

    it('returns the full envelope with the payload', async () => {
      const [event] = await t.store.readStreamForward('game-1', { fromVersion: 11, maxCount: 1 });
      expect(event).toMatchObject({
        streamId: 'game-1',
        streamVersion: 11,
        eventType: 'GameFinished',
        schemaVersion: 1,
        data: { n: 10 },
        metadata: {},
        causationId: null,
        correlationId: null,
      });
      expect(event!.eventId).toMatch(/^[0-9a-f-]{36}$/);
      expect(event!.createdAt).toBeInstanceOf(Date);
      expect(event!.globalPosition).toBeGreaterThan(0);
    });

    it('iterates every event in both directions, paging internally', async () => {
      const forward: number[] = [];
      for await (const event of t.store.streamForward('game-1')) forward.push(event.streamVersion);
      expect(forward).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      const backward: number[] = [];
      for await (const event of t.store.streamBackward('game-1', { maxCount: 5 })) backward.push(event.streamVersion);
      expect(backward).toEqual(Array.from({ length: 12 }, (_, i) => 12 - i));
    });

    it('iterates every event when the page size is capped below the default', async () => {
      const capped = await createTestStore({ maxPageSize: 5 }, 'capped');
      try {
        await capped.store.appendToStream('long', 'no_stream', someEvents(12));
        const seen: number[] = [];
        for await (const event of capped.store.streamForward('long')) seen.push(event.streamVersion);
        expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      } finally {
        await capped.close();
      }
    });

    it('a stream that does not exist is STREAM_NOT_FOUND', async () => {
      await expect(t.store.readStreamForward('nope')).rejects.toBeInstanceOf(StreamNotFoundError);
      await expect(t.store.readStreamBackward('nope')).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
      await expect(t.store.streamInfo('nope')).rejects.toBeInstanceOf(StreamNotFoundError);
      expect(await t.store.streamExists('nope')).toBe(false);
    });
  });

  describe('$all', () => {
    it('pages forward with nextFromPosition as the cursor, seeing every event once', async () => {
      const seen: RecordedEvent[] = [];
      let cursor = 0;
      for (let page = 0; page < 10; page++) {
        const { events, nextFromPosition } = await t.store.readAllForward({ fromPosition: cursor, maxCount: 5 });
        seen.push(...events);
        expect(nextFromPosition).toBe(events.at(-1)?.globalPosition ?? cursor);
        cursor = nextFromPosition!;
        if (events.length === 0) break;
      }
      expect(seen).toHaveLength(17);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(17);
      expect(seen.filter((e) => e.streamId === 'game-1').map((e) => e.streamVersion)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });

    it('pages backward from the end to the start, the reverse of forward', async () => {
      const forward = (await t.store.readAllForward({ maxCount: 100 })).events.map((e) => e.globalPosition);
      const backward: number[] = [];
      let cursor: number | undefined;
      for (;;) {
        const { events, nextFromPosition } = await t.store.readAllBackward({ fromPosition: cursor, maxCount: 5 });
        backward.push(...events.map((e) => e.globalPosition));
        if (nextFromPosition === null) break;
        cursor = nextFromPosition;
      }
      expect(backward).toEqual([...forward].reverse());
    });

    it('filters by event types and by stream prefix, alone or together', async () => {
      const types = await t.store.readAllForward({ filter: { eventTypes: ['GameStarted', 'GameFinished'] }, maxCount: 100 });
      expect(types.events.map((e) => e.eventType).sort()).toEqual([...Array(2).fill('GameFinished'), ...Array(3).fill('GameStarted')]);
      const games = await t.store.readAllForward({ filter: { streamPrefix: 'game-' }, maxCount: 100 });
      expect(new Set(games.events.map((e) => e.streamId))).toEqual(new Set(['game-1', 'game-2']));
      expect(games.events).toHaveLength(15);
      const both = await t.store.readAllBackward({ filter: { streamPrefix: 'game-', eventTypes: ['GuessProcessed'] }, maxCount: 100 });
      expect(both.events).toHaveLength(10);
      expect(both.events.every((e) => e.streamId === 'game-1' && e.eventType === 'GuessProcessed')).toBe(true);
    });

    it('treats LIKE wildcards in a prefix literally', async () => {
      await t.store.appendToStream('odd_%-1', 'any', someEvents(1, 'Odd'));
      await t.allVisible();
      const { events } = await t.store.readAllForward({ filter: { streamPrefix: 'odd_%' }, maxCount: 100 });
      expect(events.map((e) => e.streamId)).toEqual(['odd_%-1']);
      expect((await t.store.readAllForward({ filter: { streamPrefix: 'od%' } })).events).toEqual([]);
    });

    it('a sparse filter scans a bounded window per read and moves the cursor past it, missing nothing', async () => {
      const sparse = await createTestStore({ filterScanLimit: 5 }, 'sparse');
      try {
        await sparse.store.appendToStream('noise', 'no_stream', someEvents(12, 'Noise'));
        await sparse.store.appendToStream('signal', 'no_stream', someEvents(2, 'Signal'));
        await sparse.store.appendToStream('noise', 12, someEvents(7, 'Noise', 12));
        await sparse.store.appendToStream('signal', 2, someEvents(1, 'Signal', 2));
        await sparse.allVisible();
        const filter = { eventTypes: ['Signal'] };
        const first = await sparse.store.readAllForward({ filter, maxCount: 2 });
        expect(first.events).toEqual([]);
        expect(first.nextFromPosition).toBeGreaterThan(0);
        const forward: number[] = [];
        let cursor = 0;
        for (let reads = 0; reads < 20; reads++) {
          const page = await sparse.store.readAllForward({ fromPosition: cursor, filter, maxCount: 2 });
          forward.push(...page.events.map((e) => e.data.n as number));
          if (page.nextFromPosition === cursor) break;
          cursor = page.nextFromPosition!;
        }
        expect(forward).toEqual([0, 1, 2]);
        const backward: number[] = [];
        let from: number | undefined;
        for (let reads = 0; reads < 20; reads++) {
          const page = await sparse.store.readAllBackward({ fromPosition: from, filter, maxCount: 2 });
          backward.push(...page.events.map((e) => e.data.n as number));
          if (page.nextFromPosition === null) break;
          from = page.nextFromPosition;
        }
        expect(backward).toEqual([2, 1, 0]);
      } finally {
        await sparse.close();
      }
    });

    it('refuses a cursor that is no event position', async () => {
      await expect(t.store.readAllForward({ fromPosition: 9_999_999 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('streams, metadata, snapshots', () => {
    it('reports stream info and existence', async () => {
      const info = await t.store.streamInfo('game-2');
      expect(info).toMatchObject({ streamId: 'game-2', version: 3, deleted: false, metadata: {} });
      expect(info.updatedAt.getTime()).toBeGreaterThanOrEqual(info.createdAt.getTime());
      expect(await t.store.streamExists('game-2')).toBe(true);
    });

    it('lists streams by prefix, paged by id', async () => {
      const first = await t.store.listStreams({ prefix: 'game-', limit: 1 });
      expect(first.streams.map((s) => s.streamId)).toEqual(['game-1']);
      expect(first.nextAfter).toBe('game-1');
      const second = await t.store.listStreams({ prefix: 'game-', after: first.nextAfter!, limit: 1 });
      expect(second.streams.map((s) => s.streamId)).toEqual(['game-2']);
      const third = await t.store.listStreams({ prefix: 'game-', after: 'game-2', limit: 1 });
      expect(third).toEqual({ streams: [], nextAfter: null });
      const all = await t.store.listStreams();
      expect(all.streams.map((s) => s.streamId)).toEqual(expect.arrayContaining(['game-1', 'game-2', 'player-1']));
    });

    it('gets and sets stream metadata, checking the expected version', async () => {
      expect(await t.store.getStreamMetadata('player-1')).toEqual({});
      await t.store.setStreamMetadata('player-1', { owner: 'bot-7', tags: ['a'] });
      expect(await t.store.getStreamMetadata('player-1')).toEqual({ owner: 'bot-7', tags: ['a'] });
      await t.store.setStreamMetadata('player-1', { owner: 'bot-8' }, 2);
      await expect(t.store.setStreamMetadata('player-1', { owner: 'x' }, 1)).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        details: { actualVersion: 2 },
      });
      expect(await t.store.getStreamMetadata('player-1')).toEqual({ owner: 'bot-8' });
      await expect(t.store.setStreamMetadata('nope', {})).rejects.toBeInstanceOf(StreamNotFoundError);
    });

    it('records, replaces, reads and deletes snapshots', async () => {
      expect(await t.store.readSnapshot('game-1')).toBeNull();
      await t.store.recordSnapshot({ sourceId: 'game-1', sourceVersion: 10, sourceType: 'Game', data: { guesses: 10 } });
      await t.store.recordSnapshot({
        sourceId: 'game-1',
        sourceVersion: 12,
        sourceType: 'Game',
        data: { guesses: 12 },
        metadata: { v: 2 },
      });
      expect(await t.store.readSnapshot('game-1')).toMatchObject({
        sourceId: 'game-1',
        sourceVersion: 12,
        sourceType: 'Game',
        data: { guesses: 12 },
        metadata: { v: 2 },
      });
      await t.store.recordSnapshot({ sourceId: 'game-1', sourceVersion: 11, sourceType: 'Game', data: { guesses: 11 } });
      expect(await t.store.readSnapshot('game-1')).toMatchObject({ sourceVersion: 12, data: { guesses: 12 } });
      await t.store.deleteSnapshot('game-1');
      expect(await t.store.readSnapshot('game-1')).toBeNull();
    });
  });
});
