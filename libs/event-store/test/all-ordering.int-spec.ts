import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

const WRITERS = 16;
const APPENDS_PER_WRITER = 40;
const READERS = 3;

/**
 * The classic $all bug: positions are taken in one order and committed in another, so a reader
 * that reads "above my last position" passes an event that commits a moment later. Here 16
 * writers, and one writer that deliberately holds its transaction open before committing, race
 * while 3 readers tail $all.
 */
describe('$all under concurrent writers and readers', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: 24 }, 'ordering');
  });
  afterAll(async () => {
    await t.close();
  });

  it('every reader sees every committed event exactly once, in the same order', async () => {
    const committed = new Set<string>();
    let writing = true;
    const readers = Array.from({ length: READERS }, () => tail(() => writing, committed));
    await Promise.all([
      ...Array.from({ length: WRITERS }, (_, w) => writer(`writer-${w}`, committed)),
      slowWriter('slow-writer', committed),
    ]);
    writing = false;
    const seen = await Promise.all(readers);

    const expected = [...committed].sort();
    for (const events of seen) {
      const ids = events.map((e) => e.eventId);
      expect(ids.length).toBe(committed.size);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort()).toEqual(expected);
      expectStreamOrder(events);
    }
    const [first, ...others] = seen.map((events) => events.map((e) => e.globalPosition));
    for (const order of others) expect(order).toEqual(first);
    // A fresh read from the start agrees with the tailing readers.
    expect(await readEverything()).toEqual(first);
  });

  it('holds $all back while an older transaction is open, then shows everything, skipping nothing', async () => {
    await t.allVisible();
    const { nextFromPosition: cursor } = await t.store.readAllBackward({ maxCount: 1 }).then((page) => ({
      nextFromPosition: page.events[0]?.globalPosition ?? 0,
    }));
    const older = await t.sql.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      const appended = await t.store.appendToStream('held-back', 'no_stream', someEventsOf(2));
      const whileOpen = await t.store.readAllForward({ fromPosition: cursor });
      expect(whileOpen).toEqual({ events: [], nextFromPosition: cursor });
      await older.query('COMMIT');
      await t.allVisible();
      const after = await t.store.readAllForward({ fromPosition: cursor });
      expect(after.events.map((e) => e.globalPosition)).toEqual([appended.firstPosition, appended.lastPosition]);
    } finally {
      older.release();
    }
  });

  function someEventsOf(n: number): Array<{ eventType: string; data: { n: number } }> {
    return Array.from({ length: n }, (_, i) => ({ eventType: 'HeldBack', data: { n: i } }));
  }

  async function writer(streamId: string, committed: Set<string>): Promise<void> {
    for (let i = 0; i < APPENDS_PER_WRITER; i++) {
      const events = Array.from({ length: 1 + (i % 3) }, () => ({ eventId: randomUUID(), eventType: 'Written', data: { i } }));
      await t.store.appendToStream(streamId, 'any', events);
      events.forEach((e) => committed.add(e.eventId));
    }
  }

  /** Appends through the store's own function, but keeps each transaction open a while before COMMIT. */
  async function slowWriter(streamId: string, committed: Set<string>): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const client = await t.sql.connect();
      const eventId = randomUUID();
      try {
        await client.query('BEGIN');
        await client.query(`SELECT * FROM "${t.schema}".append_to_stream($1, -1, $2::json)`, [
          streamId,
          JSON.stringify([{ event_id: eventId, event_type: 'Slow', schema_version: 1, data: { i }, metadata: {} }]),
        ]);
        await sleep(20 + Math.random() * 60);
        await client.query('COMMIT');
        committed.add(eventId);
      } finally {
        client.release();
      }
    }
  }

  async function tail(writing: () => boolean, committed: Set<string>): Promise<RecordedEvent[]> {
    const seen: RecordedEvent[] = [];
    let cursor = 0;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      const { events, nextFromPosition } = await t.store.readAllForward({ fromPosition: cursor, maxCount: 37 });
      seen.push(...events);
      cursor = nextFromPosition!;
      if (events.length === 0) {
        if (!writing() && seen.length >= committed.size) return seen;
        await sleep(2);
      }
    }
    throw new Error(`reader timed out having seen ${seen.length} of ${committed.size} events`);
  }

  async function readEverything(): Promise<number[]> {
    const { events } = await t.store.readAllForward({ maxCount: 10_000 });
    return events.map((e) => e.globalPosition);
  }

  function expectStreamOrder(events: RecordedEvent[]): void {
    const last = new Map<string, number>();
    for (const event of events) {
      expect(event.streamVersion).toBe((last.get(event.streamId) ?? 0) + 1);
      last.set(event.streamId, event.streamVersion);
    }
  }
});

/**
 * Appends to one stream queue behind each other, and each takes the transaction id that orders
 * it in $all. If a waiting append already had its transaction id, a later version could carry a
 * smaller one: $all, and every subscription to it, would show the stream out of order.
 */
describe('$all under concurrent writers to one stream', () => {
  const STREAM_WRITERS = 8;
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: 3 * STREAM_WRITERS }, 'one-stream');
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps each stream in version order, in reads and in a subscription group, whichever way it is appended', async () => {
    const delivered: RecordedEvent[] = [];
    const group = t.store.subscribeToAll('one-stream-order', (event) => void delivered.push(event), {
      group: { partitions: 3 },
      filter: { streamPrefix: 'contended-' },
    });
    try {
      const appends = await Promise.all([
        contend('contended-single', (streamId) => viaStore(streamId, 1)),
        contend('contended-batch', (streamId, i) => viaStore(streamId, 2 + (i % 2))),
        contend('contended-mixed', (streamId, i, w) => (w % 2 === 0 ? viaFunction(streamId, 1 + (i % 2)) : viaStore(streamId, 1))),
      ]);
      await t.allVisible();
      const read = await readAll();
      await eventually(() => delivered.length >= read.length, 30_000);

      const streams = ['contended-single', 'contended-batch', 'contended-mixed'];
      const expected = streams.map((streamId, i) => ({ streamId, events: appends[i], distinct: appends[i], outOfOrder: 0 }));
      const order = (events: RecordedEvent[]) => streams.map((streamId) => orderIn(events, streamId));
      expect({ read: order(read), delivered: order(delivered) }).toEqual({ read: expected, delivered: expected });
    } finally {
      await group.unsubscribe();
    }
  });

  /** `STREAM_WRITERS` writers append to `streamId` at once, `APPENDS_PER_WRITER` times each; returns the events stored. */
  async function contend(streamId: string, append: (streamId: string, i: number, writer: number) => Promise<number>): Promise<number> {
    const counts = await Promise.all(
      Array.from({ length: STREAM_WRITERS }, async (_, w) => {
        let stored = 0;
        for (let i = 0; i < APPENDS_PER_WRITER; i++) stored += await append(streamId, i, w);
        return stored;
      }),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  async function viaStore(streamId: string, n: number): Promise<number> {
    await t.store.appendToStream(streamId, 'any', eventsOf(n));
    return n;
  }

  /** The store's full append (`append_to_stream`), which the one-statement append falls back to. */
  async function viaFunction(streamId: string, n: number): Promise<number> {
    const events = Array.from({ length: n }, (_, i) => ({
      event_id: randomUUID(),
      event_type: 'Contended',
      schema_version: 1,
      data: { i },
      metadata: {},
    }));
    await t.sql.query(`SELECT * FROM "${t.schema}".append_to_stream($1, -1, $2::json)`, [streamId, JSON.stringify(events)]);
    return n;
  }

  function eventsOf(n: number): Array<{ eventType: string; data: { i: number } }> {
    return Array.from({ length: n }, (_, i) => ({ eventType: 'Contended', data: { i } }));
  }

  /** Every event of the contended streams, in $all order, read page by page. */
  async function readAll(): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    let fromPosition = 0;
    for (;;) {
      const page = await t.store.readAllForward({ fromPosition, maxCount: 250, filter: { streamPrefix: 'contended-' } });
      events.push(...page.events);
      if (page.nextFromPosition === null || page.nextFromPosition === fromPosition) return events;
      fromPosition = page.nextFromPosition;
    }
  }

  /** How `streamId` comes out of `events`: how many, how many distinct, how many after a higher version. */
  function orderIn(events: RecordedEvent[], streamId: string): { streamId: string; events: number; distinct: number; outOfOrder: number } {
    const versions = events.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
    let highest = 0;
    let outOfOrder = 0;
    for (const version of versions) {
      if (version < highest) outOfOrder++;
      highest = Math.max(highest, version);
    }
    return { streamId, events: versions.length, distinct: new Set(versions).size, outOfOrder };
  }
});
