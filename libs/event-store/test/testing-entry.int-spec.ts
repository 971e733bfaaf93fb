import { type BeforeApplicationShutdown, Inject, Injectable, Module } from '@nestjs/common';
import { EventStore, EventStoreModule, EventType } from '@game-bot/event-store';
import { collectEvents, createTestEventStore, uniqueSchemaName, waitUntilCaughtUp } from '@game-bot/event-store/testing';
import pg from 'pg';
import { eventually } from '../../../test/helpers/eventually.js';
import { testConnection } from '../../../test/helpers/test-database.js';

/** `@game-bot/event-store/testing`, as a user's test would use it. */
describe('the testing entry point', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  afterAll(() => sql.end());

  const schemaExists = async (schema: string): Promise<boolean> =>
    (await sql.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount === 1;

  it('gives each test a store in a fresh schema of the server EVENT_STORE_HOST names, and drops it on close', async () => {
    const [a, b] = await Promise.all([createTestEventStore({ label: 'one' }), createTestEventStore({ label: 'two' })]);
    expect(a.schema).not.toBe(b.schema);
    expect(a.schema).toMatch(/^t_one_[0-9a-f]{8}$/);
    expect(a.connection).toMatchObject({ host: process.env.EVENT_STORE_HOST, schema: a.schema, embedded: false });
    await a.store.appendToStream('game-1', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
    expect(await b.store.streamExists('game-1')).toBe(false);
    expect(await schemaExists(a.schema)).toBe(true);
    await Promise.all([a.close(), b.close()]);
    expect(await schemaExists(a.schema)).toBe(false);
    expect(await schemaExists(b.schema)).toBe(false);
  });

  it('keeps the schema when only the app is closed, so that a test can reopen the same store', async () => {
    const first = await createTestEventStore({ label: 'reopen' });
    await first.store.appendToStream('kept', 'no_stream', [{ eventType: 'Kept', data: { n: 1 } }]);
    await first.app.close();
    const second = await createTestEventStore({ store: { schema: first.schema } });
    expect((await second.store.readStreamForward('kept')).map((e) => e.data)).toEqual([{ n: 1 }]);
    await second.close();
    expect(await schemaExists(first.schema)).toBe(false);
  });

  it('collects what a subscriber sees, waits for it, and says what is missing on a timeout', async () => {
    const t = await createTestEventStore({ label: 'collect' });
    try {
      const collector = collectEvents(t.store, '$all', { filter: { streamPrefix: 'game-' } });
      await waitUntilCaughtUp(collector.subscription);
      await t.store.appendToStream('game-1', 'no_stream', [{ eventType: 'GameStarted', data: { word: 'crane' } }]);
      await t.store.appendToStream('chat-1', 'no_stream', [{ eventType: 'Said', data: {} }]);
      await t.store.appendToStream('game-1', 1, [{ eventType: 'GuessMade', data: { word: 'slate' } }]);
      expect((await collector.waitFor(2)).map((e) => e.eventType)).toEqual(['GameStarted', 'GuessMade']);
      await expect(collector.waitFor(3, 200)).rejects.toThrow('Expected 3 events on $all within 200 ms, got 2');
      await collector.stop();
    } finally {
      await t.close();
    }
  });

  it('waitUntilCaughtUp names the subscription that did not catch up in time', async () => {
    const t = await createTestEventStore({ label: 'stuck' });
    try {
      await t.store.appendToStream('s', 'no_stream', [
        { eventType: 'A', data: {} },
        { eventType: 'B', data: {} },
      ]);
      // `$all` shows them once every older transaction of the server has ended (the test files
      // beside this one run theirs): until then a subscription is caught up at position 0.
      await eventually(async () => (await t.store.readAllForward({ maxCount: 10 })).events.length === 2, 30_000, 'the events in $all');
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const subscription = t.store.subscribeToAll('stuck-reader', () => held);
      await expect(waitUntilCaughtUp(subscription, 300)).rejects.toThrow(
        /Subscription stuck-reader did not catch up within 300 ms \(at position 0\)/,
      );
      release();
      await waitUntilCaughtUp(subscription);
      expect(subscription.position).toBeGreaterThan(0);
      await subscription.unsubscribe();
    } finally {
      await t.close();
    }
  });

  it('drops the schema of a store whose boot failed, keeps a schema that is not a test one, and drops after the app is down', async () => {
    @EventType('Twice')
    class First {}
    @EventType('Twice')
    class Second {}
    const failed = uniqueSchemaName('failed');
    await expect(
      createTestEventStore({ store: { schema: failed }, imports: [EventStoreModule.forFeature([First, Second])] }),
    ).rejects.toThrow(/Twice/);
    expect(await schemaExists(failed)).toBe(false);

    const named = `kept_${uniqueSchemaName().slice(2)}`;
    const kept = await createTestEventStore({ store: { schema: named } });
    await kept.close();
    expect(await schemaExists(named)).toBe(true);
    await sql.query(`DROP SCHEMA "${named}" CASCADE`);

    // A host provider that writes while the app shuts down still finds its schema.
    @Injectable()
    class Farewell implements BeforeApplicationShutdown {
      written = false;
      constructor(@Inject(EventStore) private readonly store: EventStore) {}
      async beforeApplicationShutdown(): Promise<void> {
        await this.store.appendToStream('bye', 'any', [{ eventType: 'Bye', data: {} }]);
        this.written = true;
      }
    }
    @Module({ providers: [Farewell], exports: [Farewell] })
    class FarewellModule {}
    const t = await createTestEventStore({ imports: [FarewellModule] });
    const farewell = t.app.get(Farewell);
    await t.close();
    expect(farewell.written).toBe(true);
    expect(await schemaExists(t.schema)).toBe(false);
  });
});
