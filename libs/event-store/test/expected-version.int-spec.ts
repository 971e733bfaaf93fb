import { randomUUID } from 'node:crypto';
import {
  DuplicateEventError,
  EventStoreErrorCode,
  type ExpectedVersion,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@game-bot/event-store';
import { createTestStore, someEvents, streamStates, type TestStore } from '../../../test/helpers/test-store.js';

describe('appendToStream: expected versions, races, idempotency', () => {
  let t: TestStore;
  const { fresh, existing, softDeleted } = streamStates(() => t, 'stream');

  beforeAll(async () => {
    t = await createTestStore({}, 'expected');
  });
  afterAll(async () => {
    await t.close();
  });

  describe('the expected-version table of the contract (docs/contract.md)', () => {
    const ok = async (id: string, expected: ExpectedVersion, before: number): Promise<void> => {
      const result = await t.store.appendToStream(id, expected, someEvents(2));
      expect(result).toMatchObject({ streamId: id, fromVersion: before + 1, toVersion: before + 2 });
      expect(result.lastPosition).toBeGreaterThan(result.firstPosition);
      const events = await t.store.readStreamForward(id);
      expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: before + 2 }, (_, i) => i + 1));
    };
    const wrong = async (id: string, expected: ExpectedVersion, actual: number): Promise<void> => {
      const error = await t.store.appendToStream(id, expected, someEvents(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        details: { streamId: id, expectedVersion: expected, actualVersion: actual },
      });
    };

    it('any: missing ok, existing ok, soft-deleted STREAM_DELETED', async () => {
      await ok(fresh(), 'any', 0);
      await ok(await existing(3), 'any', 3);
      await expect(t.store.appendToStream(await softDeleted(), 'any', someEvents(1))).rejects.toBeInstanceOf(StreamDeletedError);
    });

    it('no_stream and 0: missing ok, existing WRONG_EXPECTED_VERSION, soft-deleted STREAM_DELETED', async () => {
      await ok(fresh(), 'no_stream', 0);
      await ok(fresh(), 0, 0);
      await wrong(await existing(3), 'no_stream', 3);
      await wrong(await existing(1), 0, 1);
      await expect(t.store.appendToStream(await softDeleted(), 'no_stream', someEvents(1))).rejects.toMatchObject({
        code: EventStoreErrorCode.StreamDeleted,
      });
    });

    it('stream_exists: missing STREAM_NOT_FOUND, existing ok, soft-deleted STREAM_DELETED', async () => {
      const missing = fresh();
      await expect(t.store.appendToStream(missing, 'stream_exists', someEvents(1))).rejects.toBeInstanceOf(StreamNotFoundError);
      expect(await t.store.streamExists(missing)).toBe(false);
      await ok(await existing(2), 'stream_exists', 2);
      await expect(t.store.appendToStream(await softDeleted(), 'stream_exists', someEvents(1))).rejects.toBeInstanceOf(StreamDeletedError);
    });

    it('n >= 1: missing WRONG_EXPECTED_VERSION (actual 0), n = v ok, n != v WRONG_EXPECTED_VERSION, soft-deleted STREAM_DELETED', async () => {
      const missing = fresh();
      await wrong(missing, 1, 0);
      expect(await t.store.streamExists(missing)).toBe(false);
      await ok(await existing(4), 4, 4);
      await wrong(await existing(4), 3, 4);
      await wrong(await existing(4), 5, 4);
      await expect(t.store.appendToStream(await softDeleted(), 2, someEvents(1))).rejects.toBeInstanceOf(StreamDeletedError);
    });

    it('a failed check stores nothing and burns no stream version', async () => {
      const id = await existing(2);
      await wrong(id, 1, 2);
      await ok(id, 2, 2);
    });
  });

  describe('races', () => {
    it('8 writers with the same expected version: exactly one wins, the others get the actual version', async () => {
      const id = await existing(5);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, writer) => t.store.appendToStream(id, 5, [{ eventType: 'Raced', data: { writer } }])),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const { reason } of lost) {
        expect(reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(reason.details).toMatchObject({ expectedVersion: 5, actualVersion: 6 });
      }
      expect((await t.store.streamInfo(id)).version).toBe(6);
    });

    it('8 writers creating the same new stream with no_stream: exactly one wins', async () => {
      const id = fresh();
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => t.store.appendToStream(id, 'no_stream', someEvents(3))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
        expect(r.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', details: { actualVersion: 3 } });
      }
      expect(await t.store.readStreamForward(id)).toHaveLength(3);
    });

    it('concurrent any appends all succeed, each atomically and contiguously', async () => {
      const id = fresh();
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, writer) => t.store.appendToStream(id, 'any', someEvents(5, `Writer${writer}`))),
      );
      const events = await t.store.readStreamForward(id);
      expect(events.map((e) => e.streamVersion)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      for (const result of results) {
        const batch = events.slice(result.fromVersion - 1, result.toVersion);
        expect(new Set(batch.map((e) => e.eventType)).size).toBe(1);
        expect(batch.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4]);
      }
    });
  });

  describe('the first event of a new stream (one statement)', () => {
    const one = () => [{ eventId: randomUUID(), eventType: 'First', data: { n: 1 } }];

    it('follows the table with a single event: missing, existing, soft-deleted, hard-deleted', async () => {
      for (const expected of ['no_stream', 'any'] as const) {
        expect(await t.store.appendToStream(fresh(), expected, one())).toMatchObject({ fromVersion: 1, toVersion: 1 });
        const at2 = await existing(2);
        if (expected === 'any') expect(await t.store.appendToStream(at2, expected, one())).toMatchObject({ fromVersion: 3 });
        else
          await expect(t.store.appendToStream(at2, expected, one())).rejects.toMatchObject({
            code: 'WRONG_EXPECTED_VERSION',
            details: { actualVersion: 2 },
          });
        await expect(t.store.appendToStream(await softDeleted(), expected, one())).rejects.toBeInstanceOf(StreamDeletedError);
        const hard = await existing(2);
        await t.store.deleteStream(hard, 2, { mode: 'hard' });
        expect(await t.store.appendToStream(hard, expected, one())).toMatchObject({ fromVersion: 1, toVersion: 1 });
      }
    });

    it('is re-sent as a re-send with no_stream or any, and an id stored elsewhere is DUPLICATE_EVENT leaving no stream', async () => {
      for (const expected of ['no_stream', 'any'] as const) {
        const id = fresh();
        const events = one();
        const first = await t.store.appendToStream(id, expected, events);
        expect(await t.store.appendToStream(id, 'no_stream', events)).toEqual(first);
        expect(await t.store.appendToStream(id, 'any', events)).toEqual(first);
        const elsewhere = fresh();
        await expect(t.store.appendToStream(elsewhere, expected, events)).rejects.toBeInstanceOf(DuplicateEventError);
        expect(await t.store.streamExists(elsewhere)).toBe(false);
        expect(await t.store.readStreamForward(id)).toHaveLength(1);
      }
    });
  });

  describe('idempotency and duplicates', () => {
    it('re-sending the same append succeeds again and stores nothing twice', async () => {
      const id = fresh();
      const events = someEvents(3).map((e) => ({ ...e, eventId: randomUUID() }));
      const first = await t.store.appendToStream(id, 'no_stream', events);
      expect(await t.store.appendToStream(id, 'no_stream', events)).toEqual(first);
      expect(await t.store.appendToStream(id, 'any', events)).toEqual(first);
      await t.store.appendToStream(id, 3, someEvents(1));
      expect(await t.store.appendToStream(id, 0, events)).toEqual(first);
      expect(await t.store.readStreamForward(id)).toHaveLength(4);
      const single = [{ eventId: randomUUID(), eventType: 'Single', data: { ok: true }, metadata: { m: 1 } }];
      const once = await t.store.appendToStream(id, 4, single);
      expect(await t.store.appendToStream(id, 'any', single)).toEqual(once);
      expect(await t.store.appendToStream(id, 4, single)).toEqual(once);
      expect(await t.store.readStreamForward(id)).toHaveLength(5);
    });

    it('concurrent re-sends of one append store it once', async () => {
      const id = fresh();
      const events = someEvents(4).map((e) => ({ ...e, eventId: randomUUID() }));
      const results = await Promise.all(Array.from({ length: 6 }, () => t.store.appendToStream(id, 'any', events)));
      expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
      expect(await t.store.readStreamForward(id)).toHaveLength(4);
    });

    it('an event id stored in another stream is DUPLICATE_EVENT, and nothing of the append is stored', async () => {
      const eventId = randomUUID();
      await t.store.appendToStream(fresh(), 'any', [{ eventId, eventType: 'Once', data: {} }]);
      const other = await existing(1);
      const error = await t.store
        .appendToStream(other, 'any', [
          { eventType: 'New', data: {} },
          { eventId, eventType: 'Again', data: {} },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateEventError);
      expect(error).toMatchObject({ code: 'DUPLICATE_EVENT', details: { eventId } });
      expect(await t.store.readStreamForward(other)).toHaveLength(1);
    });

    it('a re-send at a different expected version, or only partly stored, is DUPLICATE_EVENT', async () => {
      const id = fresh();
      const events = someEvents(2).map((e) => ({ ...e, eventId: randomUUID() }));
      await t.store.appendToStream(id, 'no_stream', events);
      await expect(t.store.appendToStream(id, 1, events)).rejects.toBeInstanceOf(DuplicateEventError);
      await expect(
        t.store.appendToStream(id, 'any', [events[0]!, { eventType: 'Extra', data: {}, eventId: randomUUID() }]),
      ).rejects.toBeInstanceOf(DuplicateEventError);
      await expect(t.store.appendToStream(id, 'any', [events[1]!, events[0]!])).rejects.toBeInstanceOf(DuplicateEventError);
      expect(await t.store.readStreamForward(id)).toHaveLength(2);
    });

    it('a re-send with the same ids but other content is DUPLICATE_EVENT, not a silent success', async () => {
      const id = fresh();
      const eventId = randomUUID();
      await t.store.appendToStream(id, 'no_stream', [{ eventId, eventType: 'Deposited', data: { amount: 10 } }]);
      for (const changed of [
        { eventId, eventType: 'Withdrawn', data: { amount: 10 } },
        { eventId, eventType: 'Deposited', data: { amount: 9999 } },
        { eventId, eventType: 'Deposited', data: { amount: 10 }, metadata: { forged: true } },
      ]) {
        await expect(t.store.appendToStream(id, 'any', [changed])).rejects.toBeInstanceOf(DuplicateEventError);
        await expect(t.store.appendToStream(id, 'no_stream', [changed])).rejects.toBeInstanceOf(DuplicateEventError);
      }
      expect((await t.store.readStreamForward(id)).map((e) => e.data)).toEqual([{ amount: 10 }]);
    });

    it('a re-send after the stream was soft-deleted still reports the append that succeeded', async () => {
      const id = fresh();
      const events = someEvents(2).map((e) => ({ ...e, eventId: randomUUID() }));
      const first = await t.store.appendToStream(id, 'no_stream', events);
      await t.store.deleteStream(id, 2);
      expect(await t.store.appendToStream(id, 'no_stream', events)).toEqual(first);
      await expect(t.store.appendToStream(id, 'any', someEvents(1))).rejects.toBeInstanceOf(StreamDeletedError);
    });

    it('concurrent appends of one event id to two streams: one stores it, the other gets DUPLICATE_EVENT', async () => {
      const eventId = randomUUID();
      const results = await Promise.allSettled(
        [fresh(), fresh()].map((id) => t.store.appendToStream(id, 'any', [{ eventId, eventType: 'Contested', data: {} }])),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const [failure] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(failure!.reason).toBeInstanceOf(DuplicateEventError);
    });
  });

  describe('large appends', () => {
    it('stores 10,000 events in one atomic append, in order', async () => {
      const id = fresh();
      const result = await t.store.appendToStream(id, 'no_stream', someEvents(10_000));
      expect(result).toMatchObject({ fromVersion: 1, toVersion: 10_000 });
      const events = await t.store.readStreamForward(id, { maxCount: 10_000 });
      expect(events).toHaveLength(10_000);
      expect(events.every((e, i) => e.streamVersion === i + 1 && e.data.n === i)).toBe(true);
      expect(events.every((e, i) => i === 0 || e.globalPosition > events[i - 1]!.globalPosition)).toBe(true);
    });
  });
});
