import type { OperationProgress } from '@game-bot/event-store';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

/** `store.verify`: every stored checksum, in batches by position, with progress and a stop at a batch boundary. */
describe('verify', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({}, 'verify');
    await t.store.appendToStream('verify-a', 'no_stream', someEvents(10));
    await t.store.appendToStream('verify-b', 'no_stream', someEvents(10));
    await t.store.appendToStream('verify-c', 'no_stream', [{ eventType: 'Tagged', data: { n: 1 }, tags: ['player:1', 'guild:2'] }]);
    await t.store.appendToStream('verify-c', 1, someEvents(4));
  });
  afterAll(async () => {
    await t.close();
  });

  /** The store's positions, ascending (verify's order). */
  async function positions(): Promise<number[]> {
    await t.allVisible();
    return (await t.store.readAllForward({ maxCount: 100 })).events.map((e) => e.globalPosition).sort((a, b) => a - b);
  }

  /** Changes a stored event behind the store's back: the immutability trigger is bypassed (superuser). */
  async function tamper(store: TestStore, statement: string): Promise<void> {
    const client = await store.sql.connect();
    try {
      await client.query(`BEGIN; SET LOCAL session_replication_role = replica; ${statement}; COMMIT`);
    } finally {
      client.release();
    }
  }

  it('passes on a clean store, reporting progress batch by batch', async () => {
    const progress: OperationProgress[] = [];
    const result = await t.store.verify({ batchSize: 10, onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ checked: 25, corrupted: [], lastPosition: Math.max(...(await positions())), interrupted: false });
    expect(progress).toEqual([
      { done: 0, total: 25 },
      { done: 10, total: 25 },
      { done: 20, total: 25 },
      { done: 25, total: 25 },
    ]);
  });

  it('finds tampered rows and lists exactly them (payload, tags, or identity changed)', async () => {
    const own = await createTestStore({}, 'verify_tamper');
    try {
      await own.store.appendToStream('clean', 'no_stream', someEvents(30));
      await own.store.appendToStream('tagged', 'no_stream', [{ eventType: 'Claimed', data: { word: 'crane' }, tags: ['word:crane'] }]);
      await own.store.appendToStream('clean-2', 'no_stream', someEvents(30));
      const [data] = await own.store.readStreamForward('clean', { fromVersion: 17, maxCount: 1 });
      const [tags] = await own.store.readStreamForward('tagged');
      const [type] = await own.store.readStreamForward('clean-2', { fromVersion: 30 });
      const events = `"${own.schema}".events`;
      await tamper(own, `UPDATE ${events} SET data = '{"n": 1000}' WHERE event_id = '${data!.eventId}'`);
      await tamper(own, `UPDATE ${events} SET tags = ARRAY['word:slate'] WHERE event_id = '${tags!.eventId}'`);
      await tamper(own, `UPDATE ${events} SET event_type = 'Renamed' WHERE event_id = '${type!.eventId}'`);

      const result = await own.store.verify({ batchSize: 7 });
      const reference = (e: typeof data) => ({
        globalPosition: e!.globalPosition,
        streamId: e!.streamId,
        streamVersion: e!.streamVersion,
        eventId: e!.eventId,
      });
      expect(result).toMatchObject({ checked: 61, corrupted: [reference(data), reference(tags), reference(type)], interrupted: false });
      // The read path agrees with verify about the same row.
      await expect(own.store.readStreamForward('clean')).rejects.toMatchObject({
        code: 'CORRUPTED_EVENT',
        details: { eventId: data!.eventId },
      });
    } finally {
      await own.close();
    }
  });

  it('stops at a batch boundary when the signal aborts, and continues from lastPosition', async () => {
    const controller = new AbortController();
    const stopped = await t.store.verify({
      batchSize: 10,
      signal: controller.signal,
      onProgress: ({ done }) => done >= 10 && controller.abort(),
    });
    const all = await positions();
    expect(stopped).toEqual({ checked: 10, corrupted: [], lastPosition: all[9], interrupted: true });
    const rest = await t.store.verify({ batchSize: 10, fromPosition: stopped.lastPosition! });
    expect(rest).toEqual({ checked: 15, corrupted: [], lastPosition: all[24], interrupted: false });
  });

  it('does nothing under a signal aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(await t.store.verify({ signal: controller.signal })).toEqual({
      checked: 0,
      corrupted: [],
      lastPosition: null,
      interrupted: true,
    });
  });

  it('refuses a bad batch size or start', async () => {
    await expect(t.store.verify({ batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(t.store.verify({ batchSize: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(t.store.verify({ fromPosition: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
