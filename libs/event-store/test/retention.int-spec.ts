import { randomUUID } from 'node:crypto';
import type { JsonObject, RecordedEvent, ScavengeResult } from '@game-bot/event-store';
import { collectEvents } from '@game-bot/event-store/testing';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

/** A stream read's places: the link's version for a linked event. */
const versions = (events: ReadonlyArray<RecordedEvent>): number[] =>
  events.map((event) => event.link?.streamVersion ?? event.streamVersion);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, index) => from + index);

describe('retention ($maxAge, $maxCount, $truncateBefore) and the scavenger', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({}, 'retention');
  });
  afterAll(async () => {
    await t.close();
  });

  /** Makes events (or links) of a stream `seconds` older, behind the store's back (the immutability trigger is bypassed). */
  const age = async (streamId: string, seconds: number, table: 'events' | 'stream_links' = 'events'): Promise<void> => {
    const column = table === 'events' ? 'created_at' : 'linked_at';
    const client = await t.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query(`UPDATE "${t.schema}".${table} SET ${column} = ${column} - make_interval(secs => $2) WHERE stream_id = $1`, [
        streamId,
        seconds,
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  const storedVersions = async (streamId: string): Promise<number[]> => {
    const { rows } = await t.sql.query<{ v: string }>(
      `SELECT stream_version AS v FROM "${t.schema}".events WHERE stream_id = $1 ORDER BY stream_version`,
      [streamId],
    );
    return rows.map((row) => Number(row.v));
  };
  const write = async (streamId: string, count: number): Promise<void> => {
    await t.store.appendToStream(streamId, 'any', someEvents(count));
  };
  const scavenge = (prefix: string, options: Parameters<TestStore['store']['scavenge']>[0] = {}): Promise<ScavengeResult> =>
    t.store.scavenge({ streamPrefix: prefix, ...options });

  describe('metadata', () => {
    it.each([
      ['$maxAge', 0],
      ['$maxCount', -1],
      ['$truncateBefore', 1.5],
      ['$maxCount', '10'],
      ['$maxAge', null],
      ['$truncateBefore', true],
      ['$maxCount', 2 ** 53],
    ])('refuses %s = %p as INVALID_ARGUMENT naming the key', async (key, value) => {
      await write('meta-bad', 1);
      await expect(t.store.setStreamMetadata('meta-bad', { [key]: value } as JsonObject)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining(`metadata.${key} must be an integer >= 1`),
        details: { [`metadata.${key}`]: value },
      });
      expect(await t.store.getStreamMetadata('meta-bad')).toEqual({});
    });

    it('accepts integers >= 1 beside the caller’s own keys', async () => {
      await write('meta-good', 1);
      const metadata = { $maxAge: 1, $maxCount: 2 ** 53 - 1, $truncateBefore: 1, owner: 'guild-7', $custom: 'kept' };
      await t.store.setStreamMetadata('meta-good', metadata);
      expect(await t.store.getStreamMetadata('meta-good')).toEqual(metadata);
    });
  });

  describe('reads honour each key at once', () => {
    it('$truncateBefore hides the versions below it, forward, backward and paged', async () => {
      await write('read-tb', 10);
      await t.store.setStreamMetadata('read-tb', { $truncateBefore: 4 });
      expect(versions(await t.store.readStreamForward('read-tb'))).toEqual(range(4, 10));
      expect(versions(await t.store.readStreamForward('read-tb', { fromVersion: 2, maxCount: 3 }))).toEqual([4, 5, 6]);
      expect(versions(await t.store.readStreamForward('read-tb', { fromVersion: 6, maxCount: 3 }))).toEqual([6, 7, 8]);
      expect(versions(await t.store.readStreamBackward('read-tb'))).toEqual(range(4, 10).reverse());
      expect(versions(await t.store.readStreamBackward('read-tb', { fromVersion: 5 }))).toEqual([5, 4]);
      expect(await t.store.readStreamBackward('read-tb', { fromVersion: 3 })).toEqual([]);
      const forward: RecordedEvent[] = [];
      for await (const event of t.store.streamForward('read-tb', { maxCount: 2 })) forward.push(event);
      expect(versions(forward)).toEqual(range(4, 10));
      const backward: RecordedEvent[] = [];
      for await (const event of t.store.streamBackward('read-tb', { maxCount: 2 })) backward.push(event);
      expect(versions(backward)).toEqual(range(4, 10).reverse());
      // Beyond the stream's version, every event is hidden.
      await t.store.setStreamMetadata('read-tb', { $truncateBefore: 1000 });
      expect(await t.store.readStreamForward('read-tb')).toEqual([]);
      expect(await t.store.readStreamBackward('read-tb')).toEqual([]);
    });

    it('$maxCount keeps the last versions, and the bound moves with each append', async () => {
      await write('read-mc', 10);
      await t.store.setStreamMetadata('read-mc', { $maxCount: 3 });
      expect(versions(await t.store.readStreamForward('read-mc'))).toEqual([8, 9, 10]);
      await write('read-mc', 2);
      expect(versions(await t.store.readStreamForward('read-mc'))).toEqual([10, 11, 12]);
      expect(versions(await t.store.readStreamBackward('read-mc', { maxCount: 2 }))).toEqual([12, 11]);
      await t.store.setStreamMetadata('read-mc', { $maxCount: 2, $truncateBefore: 12 });
      expect(versions(await t.store.readStreamForward('read-mc'))).toEqual([12]);
    });

    it('$maxAge hides the events created longer ago than it, by the database clock', async () => {
      await write('read-ma', 4);
      await age('read-ma', 3600);
      await write('read-ma', 2);
      await t.store.setStreamMetadata('read-ma', { $maxAge: 600 });
      expect(versions(await t.store.readStreamForward('read-ma'))).toEqual([5, 6]);
      expect(versions(await t.store.readStreamBackward('read-ma'))).toEqual([6, 5]);
      await t.store.setStreamMetadata('read-ma', { $maxAge: 7200 });
      expect(versions(await t.store.readStreamForward('read-ma'))).toEqual(range(1, 6));
      // The largest age a safe integer can say is no limit to speak of, not an error.
      await t.store.setStreamMetadata('read-ma', { $maxAge: Number.MAX_SAFE_INTEGER });
      expect(versions(await t.store.readStreamForward('read-ma'))).toEqual(range(1, 6));
    });

    it('links count as versions, and $maxAge counts from when they were linked', async () => {
      await write('read-src', 3);
      const source = await t.store.readStreamForward('read-src');
      await t.store.linkToStream('read-links', 'any', [source[0]!.eventId, source[1]!.eventId]);
      await write('read-links', 1);
      await t.store.linkToStream('read-links', 'any', [source[2]!.eventId]);
      expect(versions(await t.store.readStreamForward('read-links'))).toEqual([1, 2, 3, 4]);
      await t.store.setStreamMetadata('read-links', { $maxCount: 3 });
      expect(versions(await t.store.readStreamForward('read-links'))).toEqual([2, 3, 4]);
      await age('read-links', 3600, 'stream_links');
      await t.store.setStreamMetadata('read-links', { $maxAge: 600 });
      expect(versions(await t.store.readStreamForward('read-links'))).toEqual([3]);
      // The source stream has no retention of its own.
      expect(versions(await t.store.readStreamForward('read-src'))).toEqual([1, 2, 3]);
    });

    it('shows the events again when the keys go (until scavenged); stored metadata that is not a number is no limit', async () => {
      await write('read-undo', 5);
      await t.store.setStreamMetadata('read-undo', { $maxCount: 1 });
      expect(versions(await t.store.readStreamForward('read-undo'))).toEqual([5]);
      await t.store.setStreamMetadata('read-undo', {});
      expect(versions(await t.store.readStreamForward('read-undo'))).toEqual(range(1, 5));
      // Metadata written before the keys were checked (or behind the store's back) cannot break a read.
      await t.sql.query(`UPDATE "${t.schema}".streams SET metadata = $2 WHERE stream_id = $1`, [
        'read-undo',
        JSON.stringify({ $maxCount: 'three', $truncateBefore: -5, $maxAge: 1e300 }),
      ]);
      expect(versions(await t.store.readStreamForward('read-undo'))).toEqual(range(1, 5));
      expect(versions(await t.store.readStreamBackward('read-undo'))).toEqual(range(1, 5).reverse());
    });

    it('leaves $all alone until the scavenger runs', async () => {
      await write('read-all', 3);
      await t.store.setStreamMetadata('read-all', { $truncateBefore: 3 });
      await t.allVisible();
      const all = await t.store.readAllForward({ filter: { streamPrefix: 'read-all' } });
      expect(all.events.map((event) => event.streamVersion)).toEqual([1, 2, 3]);
    });
  });

  describe('stream subscriptions honour each key at once, in catch-up and live', () => {
    it('$maxCount: catch-up starts at the first retained version, then live events arrive', async () => {
      await write('sub-mc', 10);
      await t.store.setStreamMetadata('sub-mc', { $maxCount: 3 });
      const collector = collectEvents(t.store, 'sub-mc');
      try {
        expect(versions(await collector.waitFor(3))).toEqual([8, 9, 10]);
        await write('sub-mc', 2);
        expect(versions(await collector.waitFor(5))).toEqual([8, 9, 10, 11, 12]);
      } finally {
        await collector.stop();
      }
    });

    it('$truncateBefore: a subscription from an earlier version skips to it', async () => {
      await write('sub-tb', 10);
      await t.store.setStreamMetadata('sub-tb', { $truncateBefore: 6 });
      const collector = collectEvents(t.store, 'sub-tb', { startFrom: 2 });
      try {
        expect(versions(await collector.waitFor(5))).toEqual(range(6, 10));
        await write('sub-tb', 1);
        expect(versions(await collector.waitFor(6))).toEqual(range(6, 11));
      } finally {
        await collector.stop();
      }
    });

    it('$maxAge: old events are not delivered, new ones are', async () => {
      await write('sub-ma', 5);
      await age('sub-ma', 3600);
      await write('sub-ma', 2);
      await t.store.setStreamMetadata('sub-ma', { $maxAge: 600 });
      const collector = collectEvents(t.store, 'sub-ma');
      try {
        expect(versions(await collector.waitFor(2))).toEqual([6, 7]);
        await write('sub-ma', 1);
        expect(versions(await collector.waitFor(3))).toEqual([6, 7, 8]);
      } finally {
        await collector.stop();
      }
    });
  });

  describe('scavenge', () => {
    it('removes exactly the expired events while 8 writers append and a $all subscriber runs', async () => {
      // Where every event went: id -> stream and version, from the append results.
      const placed = new Map<string, { streamId: string; version: number }>();
      const append = async (streamId: string, count: number): Promise<void> => {
        const events = someEvents(count).map((event) => ({ ...event, eventId: randomUUID() }));
        const result = await t.store.appendToStream(streamId, 'any', events);
        events.forEach((event, index) => placed.set(event.eventId, { streamId, version: result.fromVersion + index }));
      };
      const counted = ['mix-count-1', 'mix-count-2', 'mix-count-3'];
      const streams = [...counted, 'mix-trunc', 'mix-age', 'mix-plain-1', 'mix-plain-2', 'mix-plain-3'];
      for (const streamId of streams) await append(streamId, 40);
      await age('mix-age', 3600);
      for (const streamId of counted) await t.store.setStreamMetadata(streamId, { $maxCount: 5 });
      await t.store.setStreamMetadata('mix-trunc', { $truncateBefore: 30 });
      await t.store.setStreamMetadata('mix-age', { $maxAge: 600 });

      const subscriber = collectEvents(t.store, '$all', { filter: { streamPrefix: 'mix-' } });
      let writing = true;
      const results: ScavengeResult[] = [];
      // Two scavengers at once, as two service instances would run them.
      const scavenger = async (): Promise<void> => {
        while (writing) results.push(await scavenge('mix-', { batchSize: 7 }));
      };
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; i < 25; i++) await append(streams[(w + i) % streams.length]!, 1 + ((w + i) % 3));
      };
      const scavengers = [scavenger(), scavenger()];
      await Promise.all(range(0, 7).map(writer));
      writing = false;
      await Promise.all(scavengers);
      // The scavengers removed events while the writers were appending, not only afterwards.
      expect(results.some((result) => result.eventsRemoved > 0)).toBe(true);
      results.push(await scavenge('mix-'));

      // What the final versions and the metadata hide, computed here, apart from the store's SQL.
      const finalVersion = (streamId: string): number =>
        Math.max(...[...placed.values()].filter((p) => p.streamId === streamId).map((p) => p.version));
      const hidden = ({ streamId, version }: { streamId: string; version: number }): boolean => {
        if (version === finalVersion(streamId)) return false; // the last version stays stored
        if (counted.includes(streamId)) return version <= finalVersion(streamId) - 5;
        if (streamId === 'mix-trunc') return version < 30;
        return streamId === 'mix-age' && version <= 40;
      };
      const expected = new Set([...placed].filter(([, place]) => hidden(place)).map(([id]) => id));
      const { rows } = await t.sql.query<{ event_id: string }>(`SELECT event_id FROM "${t.schema}".events WHERE stream_id LIKE 'mix-%'`);
      const stored = new Set(rows.map((row) => row.event_id));
      const removed = new Set([...placed.keys()].filter((id) => !stored.has(id)));
      expect(stored.size).toBe(placed.size - expected.size);
      expect([...removed].sort()).toEqual([...expected].sort());
      // Each removal counted once across the scavengers, and its place in $all kept.
      expect(results.reduce((sum, result) => sum + result.eventsRemoved, 0)).toBe(expected.size);
      const kept = await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".hard_deleted_positions`);
      expect(kept.rows[0]!.n).toBeGreaterThanOrEqual(expected.size);
      // Reads return the retained events, which are all stored.
      for (const streamId of counted) {
        const last = finalVersion(streamId);
        expect(versions(await t.store.readStreamForward(streamId))).toEqual(range(last - 4, last));
      }
      expect(versions(await t.store.readStreamForward('mix-trunc'))).toEqual(range(30, finalVersion('mix-trunc')));
      expect(versions(await t.store.readStreamForward('mix-age'))).toEqual(range(41, finalVersion('mix-age')));

      // The subscriber got every event that was still stored when it reached it: every stored one,
      // in $all order, none twice, and nothing it missed is still stored.
      try {
        await t.allVisible();
        await eventually(() => {
          const seen = new Set(subscriber.events.map((event) => event.eventId));
          return [...stored].every((id) => seen.has(id));
        }, 30_000);
        const received = subscriber.events.map((event) => event.eventId);
        expect(new Set(received).size).toBe(received.length);
        const all: string[] = [];
        for (let cursor = 0; ;) {
          const page = await t.store.readAllForward({ fromPosition: cursor, maxCount: 500, filter: { streamPrefix: 'mix-' } });
          all.push(...page.events.map((event) => event.eventId));
          if (page.events.length === 0) break;
          cursor = page.nextFromPosition!;
        }
        expect(all).toHaveLength(stored.size);
        expect(received.filter((id) => stored.has(id))).toEqual(all);
        const missed = [...placed.keys()].filter((id) => !received.includes(id));
        expect(missed.filter((id) => !removed.has(id))).toEqual([]);
      } finally {
        await subscriber.stop();
      }
    });

    it('waits for a metadata change in flight, and then removes only what the new metadata hides', async () => {
      await write('race-meta', 10);
      await t.store.setStreamMetadata('race-meta', { $maxCount: 2 });
      const change = await t.sql.connect();
      try {
        await change.query('BEGIN');
        await change.query(`UPDATE "${t.schema}".streams SET metadata = $2 WHERE stream_id = $1`, ['race-meta', '{"$maxCount": 8}']);
        let done = false;
        const running = scavenge('race-meta').finally(() => (done = true));
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(done).toBe(false);
        await change.query('COMMIT');
        expect(await running).toMatchObject({ eventsRemoved: 2 });
      } finally {
        change.release();
      }
      expect(await storedVersions('race-meta')).toEqual(range(3, 10));
    });

    it('keeps $all cursors at removed events valid: reads and subscriptions continue right after them', async () => {
      const order: RecordedEvent[] = [];
      for (const streamId of ['cur-a', 'cur-b', 'cur-a', 'cur-b', 'cur-a', 'cur-b']) {
        await t.store.appendToStream(streamId, 'any', someEvents(1));
      }
      await t.allVisible();
      order.push(...(await t.store.readAllForward({ filter: { streamPrefix: 'cur-' } })).events);
      const [a1, b1, a2, b2, a3, b3] = order;
      await t.store.setStreamMetadata('cur-a', { $truncateBefore: 3 });
      expect(await scavenge('cur-')).toMatchObject({ streamsScanned: 1, eventsRemoved: 2, interrupted: false });
      const after = async (position: number) => (await t.store.readAllForward({ fromPosition: position })).events.map((e) => e.eventId);
      expect(await after(a1!.globalPosition)).toEqual([b1, b2, a3, b3].map((e) => e!.eventId));
      expect(await after(a2!.globalPosition)).toEqual([b2, a3, b3].map((e) => e!.eventId));
      const before = await t.store.readAllBackward({ fromPosition: a2!.globalPosition, filter: { streamPrefix: 'cur-' } });
      expect(before.events.map((e) => e.eventId)).toEqual([b1!.eventId]);
      const subscriber = collectEvents(t.store, '$all', { startFrom: a2!.globalPosition, filter: { streamPrefix: 'cur-' } });
      try {
        expect((await subscriber.waitFor(3)).map((e) => e.eventId)).toEqual([b2, a3, b3].map((e) => e!.eventId));
      } finally {
        await subscriber.stop();
      }
    });

    it('never removes the stream row nor its last version: the version stays, appends at it keep working', async () => {
      await write('last-age', 5);
      await age('last-age', 3600);
      await t.store.setStreamMetadata('last-age', { $maxAge: 60 });
      await write('last-tb', 5);
      await t.store.setStreamMetadata('last-tb', { $truncateBefore: 100 });
      expect(await scavenge('last-')).toMatchObject({ streamsScanned: 2, eventsRemoved: 8 });
      for (const streamId of ['last-age', 'last-tb']) {
        expect(await storedVersions(streamId)).toEqual([5]);
        expect(await t.store.readStreamForward(streamId)).toEqual([]);
        expect(await t.store.streamInfo(streamId)).toMatchObject({ version: 5, deleted: false });
        await expect(t.store.appendToStream(streamId, 4, someEvents(1))).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
        expect(await t.store.appendToStream(streamId, 5, someEvents(1))).toMatchObject({ fromVersion: 6, toVersion: 6 });
      }
      expect(versions(await t.store.readStreamForward('last-age'))).toEqual([6]);
      expect(await t.store.readStreamForward('last-tb')).toEqual([]);
      // Version 5 is no longer the last: it goes now, and then nothing is left to remove.
      expect(await scavenge('last-')).toMatchObject({ eventsRemoved: 2 });
      expect(await storedVersions('last-age')).toEqual([6]);
      expect(await storedVersions('last-tb')).toEqual([6]);
      expect(await scavenge('last-')).toMatchObject({ eventsRemoved: 0, linksRemoved: 0, snapshotsRemoved: 0 });
    });

    it('drops the snapshots taken below the first version reads return, and only those', async () => {
      const snapshot = (sourceId: string, sourceVersion: number) =>
        t.store.recordSnapshot({ sourceId, sourceVersion, sourceType: 'test', data: { at: sourceVersion } });
      for (const streamId of ['snap-below', 'snap-above', 'snap-count', 'snap-plain']) await write(streamId, 10);
      await snapshot('snap-below', 3);
      await snapshot('snap-above', 7);
      await snapshot('snap-count', 8);
      await snapshot('snap-plain', 1);
      await t.store.setStreamMetadata('snap-below', { $truncateBefore: 5 });
      await t.store.setStreamMetadata('snap-above', { $truncateBefore: 5 });
      await t.store.setStreamMetadata('snap-count', { $maxCount: 2 });
      expect(await scavenge('snap-')).toMatchObject({ streamsScanned: 3, snapshotsRemoved: 2 });
      expect(await t.store.readSnapshot('snap-below')).toBeNull();
      expect(await t.store.readSnapshot('snap-count')).toBeNull();
      expect(await t.store.readSnapshot('snap-above')).toMatchObject({ sourceVersion: 7 });
      expect(await t.store.readSnapshot('snap-plain')).toMatchObject({ sourceVersion: 1 });
    });

    it('removes the tags and the links of removed events, expired links of a stream, and events of soft-deleted streams', async () => {
      await t.store.appendToStream('tl-src', 'no_stream', [
        { eventType: 'Tagged', data: {}, tags: ['tl:x'] },
        { eventType: 'Tagged', data: {}, tags: ['tl:x'] },
        { eventType: 'Tagged', data: {}, tags: ['tl:x'] },
      ]);
      const source = await t.store.readStreamForward('tl-src');
      await t.store.linkToStream(
        'tl-links',
        'any',
        source.map((event) => event.eventId),
      );
      await write('tl-links', 2);
      const tags = async (): Promise<number> =>
        (await t.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".event_tags WHERE tag = 'tl:x'`)).rows[0]!.n;
      expect(await tags()).toBe(3);

      await t.store.setStreamMetadata('tl-src', { $truncateBefore: 3 });
      expect(await scavenge('tl-src')).toMatchObject({ eventsRemoved: 2, linksRemoved: 0 });
      expect(await tags()).toBe(1);
      // The links to the removed events went with them: the target keeps its versions, with a gap.
      expect(versions(await t.store.readStreamForward('tl-links'))).toEqual([3, 4, 5]);

      await t.store.setStreamMetadata('tl-links', { $maxCount: 2 });
      expect(await scavenge('tl-links')).toMatchObject({ eventsRemoved: 0, linksRemoved: 1 });
      expect(versions(await t.store.readStreamForward('tl-links'))).toEqual([4, 5]);
      expect(versions(await t.store.readStreamForward('tl-src'))).toEqual([3]); // the linked event stays

      await write('tl-soft', 5);
      await t.store.setStreamMetadata('tl-soft', { $maxCount: 2 });
      await t.store.deleteStream('tl-soft', 'any');
      expect(await scavenge('tl-soft')).toMatchObject({ eventsRemoved: 3 });
      expect(await storedVersions('tl-soft')).toEqual([4, 5]);
    });

    it('reports progress, stops at a batch boundary on the signal, and a new run carries on', async () => {
      for (const streamId of ['batch-1', 'batch-2', 'batch-3']) {
        await write(streamId, 30);
        await t.store.setStreamMetadata(streamId, { $truncateBefore: 25 });
      }
      const controller = new AbortController();
      const seen: number[] = [];
      const first = await scavenge('batch-', {
        batchSize: 5,
        signal: controller.signal,
        onProgress: ({ done, total }) => {
          seen.push(done);
          expect(total).toBeUndefined();
          if (done >= 10) controller.abort();
        },
      });
      expect(first).toMatchObject({ interrupted: true, eventsRemoved: 10, streamsScanned: 0 });
      expect(seen).toEqual([5, 10]);
      const rest = await scavenge('batch-', { batchSize: 5 });
      expect(rest).toMatchObject({ interrupted: false, eventsRemoved: 3 * 24 - 10, streamsScanned: 3 });
      for (const streamId of ['batch-1', 'batch-2', 'batch-3']) expect(await storedVersions(streamId)).toEqual(range(25, 30));
    });

    it('scavenges only the streams under streamPrefix, and refuses a bad batch size', async () => {
      await write('scope-a-1', 3);
      await write('scope-b-1', 3);
      await t.store.setStreamMetadata('scope-a-1', { $maxCount: 1 });
      await t.store.setStreamMetadata('scope-b-1', { $maxCount: 1 });
      expect(await scavenge('scope-a-')).toMatchObject({ streamsScanned: 1, eventsRemoved: 2 });
      expect(await storedVersions('scope-b-1')).toEqual([1, 2, 3]);
      await expect(t.store.scavenge({ batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { batchSize: 0 } });
      await expect(t.store.scavenge({ batchSize: 10_001 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });
});
