import { CorruptedEventError, StreamDeletedError, StreamNotFoundError } from '@game-bot/event-store';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

describe('deletion and integrity', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({}, 'deletion');
  });
  afterAll(async () => {
    await t.close();
  });

  const allIds = async (): Promise<string[]> => {
    await t.allVisible();
    return (await t.store.readAllForward({ maxCount: 10_000 })).events.map((e) => e.eventId);
  };

  describe('soft delete', () => {
    it('refuses reads and appends with STREAM_DELETED, keeps the events in $all', async () => {
      await t.store.appendToStream('soft-1', 'no_stream', someEvents(3));
      const ids = (await t.store.readStreamForward('soft-1')).map((e) => e.eventId);
      await t.store.deleteStream('soft-1', 3);
      await expect(t.store.readStreamForward('soft-1')).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(t.store.appendToStream('soft-1', 'any', someEvents(1))).rejects.toBeInstanceOf(StreamDeletedError);
      await expect(t.store.deleteStream('soft-1', 'any')).rejects.toBeInstanceOf(StreamDeletedError);
      expect(await allIds()).toEqual(expect.arrayContaining(ids));
      expect(await t.store.streamExists('soft-1')).toBe(false);
      expect(await t.store.streamInfo('soft-1')).toMatchObject({ deleted: true, version: 3 });
    });

    it('checks the expected version, and refuses a missing stream', async () => {
      await t.store.appendToStream('soft-2', 'no_stream', someEvents(2));
      await expect(t.store.deleteStream('soft-2', 1)).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        details: { actualVersion: 2 },
      });
      await expect(t.store.deleteStream('soft-2', 'no_stream')).rejects.toMatchObject({ code: 'WRONG_EXPECTED_VERSION' });
      await expect(t.store.deleteStream('soft-missing', 'any')).rejects.toBeInstanceOf(StreamNotFoundError);
      expect(await t.store.streamExists('soft-2')).toBe(true);
    });
  });

  describe('hard delete', () => {
    it('removes the stream and its events; the id starts again at version 1 with new positions', async () => {
      const first = await t.store.appendToStream('hard-1', 'no_stream', someEvents(3));
      const ids = (await t.store.readStreamForward('hard-1')).map((e) => e.eventId);
      await t.store.deleteStream('hard-1', 3, { mode: 'hard' });
      await expect(t.store.readStreamForward('hard-1')).rejects.toBeInstanceOf(StreamNotFoundError);
      const remaining = await allIds();
      expect(ids.some((id) => remaining.includes(id))).toBe(false);
      const again = await t.store.appendToStream('hard-1', 'no_stream', someEvents(1));
      expect(again.fromVersion).toBe(1);
      expect(again.firstPosition).toBeGreaterThan(first.lastPosition);
    });

    it('purges a soft-deleted stream', async () => {
      await t.store.appendToStream('hard-2', 'no_stream', someEvents(2));
      await t.store.deleteStream('hard-2', 2);
      await t.store.deleteStream('hard-2', 'any', { mode: 'hard' });
      expect(await t.store.appendToStream('hard-2', 'no_stream', someEvents(1))).toMatchObject({ fromVersion: 1 });
    });

    it('keeps a cursor at a deleted event valid: the read continues right after it', async () => {
      await t.store.appendToStream('cursor-a', 'no_stream', someEvents(2));
      const { lastPosition } = await t.store.appendToStream('cursor-gone', 'no_stream', someEvents(2));
      const after = await t.store.appendToStream('cursor-b', 'no_stream', someEvents(2));
      await t.store.deleteStream('cursor-gone', 'any', { mode: 'hard' });
      await t.allVisible();
      const { events } = await t.store.readAllForward({ fromPosition: lastPosition, maxCount: 10 });
      expect(events.map((e) => e.globalPosition).slice(0, 2)).toEqual([after.firstPosition, after.lastPosition]);
      const backward = await t.store.readAllBackward({ fromPosition: lastPosition, maxCount: 1 });
      expect(backward.events[0]).toMatchObject({ streamId: 'cursor-a', streamVersion: 2 });
    });
  });

  describe('integrity', () => {
    it('the database refuses to change or delete a stored event', async () => {
      await t.store.appendToStream('immutable-1', 'no_stream', someEvents(1));
      const events = `"${t.schema}".events`;
      await expect(t.sql.query(`UPDATE ${events} SET data = '{"n": 99}' WHERE stream_id = 'immutable-1'`)).rejects.toThrow(/immutable/);
      await expect(t.sql.query(`DELETE FROM ${events} WHERE stream_id = 'immutable-1'`)).rejects.toThrow(/immutable/);
      await expect(t.sql.query(`TRUNCATE ${events} CASCADE`)).rejects.toThrow(/immutable/);
      expect(await t.store.readStreamForward('immutable-1')).toHaveLength(1);
    });

    it('a tampered row is CORRUPTED_EVENT naming the event, on every read path', async () => {
      await t.store.appendToStream('tampered-1', 'no_stream', someEvents(2));
      const [, second] = await t.store.readStreamForward('tampered-1');
      await tamper(`UPDATE "${t.schema}".events SET data = '{"n": 1000}' WHERE event_id = '${second!.eventId}'`);
      const error = await t.store.readStreamForward('tampered-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptedEventError);
      expect(error).toMatchObject({
        code: 'CORRUPTED_EVENT',
        details: { eventId: second!.eventId, streamId: 'tampered-1', streamVersion: 2, globalPosition: second!.globalPosition },
      });
      expect((error as Error).message).toContain(second!.eventId);
      await t.allVisible();
      await expect(t.store.readAllForward({ maxCount: 10_000 })).rejects.toBeInstanceOf(CorruptedEventError);
      await expect(t.store.readStreamForward('tampered-1', { maxCount: 1 })).resolves.toHaveLength(1);
    });

    it('moving an event to another stream or version is detected too', async () => {
      await t.store.appendToStream('tampered-2', 'no_stream', someEvents(1));
      await tamper(`UPDATE "${t.schema}".events SET stream_version = 7 WHERE stream_id = 'tampered-2'`);
      await expect(t.store.readStreamForward('tampered-2')).rejects.toBeInstanceOf(CorruptedEventError);
    });
  });

  /** Changes a row the way only someone bypassing the store could: with the trigger switched off. */
  async function tamper(statement: string): Promise<void> {
    const client = await t.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query(statement);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
});
