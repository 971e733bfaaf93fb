import 'reflect-metadata';
import { IsInt, IsString } from 'class-validator';
import {
  EventStoreModule,
  EventType,
  InvalidArgumentError,
  WrongExpectedVersionError,
  type Decider,
  type EventData,
  type SnapshotContext,
} from '@game-bot/event-store';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

@EventType('Added')
class Added {
  @IsInt() amount!: number;
  @IsString() commandId!: string;
}

interface Counter {
  total: number;
  commands: string[];
}
interface Add {
  amount: number;
  commandId: string;
}

/** A counter: each command adds its amount once (a command id seen before adds nothing). */
const counter: Decider<Counter, Add, Added> = {
  initialState: () => ({ total: 0, commands: [] }),
  evolve: (state, event) => {
    const added = event.data as unknown as Added;
    return { total: state.total + added.amount, commands: [...state.commands, added.commandId] };
  },
  decide: (command, state) =>
    state.commands.includes(command.commandId)
      ? []
      : [Object.assign(new Added(), { amount: command.amount, commandId: command.commandId })],
};

/** The same counter deciding plain EventData, and refusing negative amounts. */
const plainCounter: Decider<Counter, Add> = {
  initialState: counter.initialState,
  evolve: counter.evolve,
  decide: (command, state): EventData[] => {
    if (command.amount < 0) throw new RangeError('amounts are positive');
    return state.commands.includes(command.commandId) ? [] : [{ eventType: 'Added', data: { ...command } }];
  },
};

describe('aggregates (deciders)', () => {
  let t: TestStore;
  let n = 0;
  const freshId = (): string => `${++n}`;
  let eventsRead = 0;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: 24 }, 'aggregates', [EventStoreModule.forFeature([Added])]);
    t.store.observe({ read: (kind, _ms, events) => void (kind === 'stream' && (eventsRead += events)) });
  });
  afterAll(async () => {
    await t.close();
  });

  /** The number of stream events read while `work` runs. */
  async function countReads<T>(work: () => Promise<T>): Promise<{ result: T; read: number }> {
    const before = eventsRead;
    const result = await work();
    return { result, read: eventsRead - before };
  }

  async function tamperSnapshot(streamId: string, total: number): Promise<void> {
    await t.sql.query(`UPDATE "${t.schema}".snapshots SET data = jsonb_set(data, '{state,total}', $2::jsonb) WHERE source_id = $1`, [
      streamId,
      JSON.stringify(total),
    ]);
  }

  const add = (amount: number): Add => ({ amount, commandId: `cmd-${amount}-${++n}` });

  it('load of a new id is the initial state at version 0 (no error, nothing written)', async () => {
    const counters = t.store.aggregate(counter, { streamPrefix: 'counter-' });
    const id = freshId();
    await expect(counters.load(id)).resolves.toEqual({ state: { total: 0, commands: [] }, version: 0 });
    expect(await t.store.streamExists(`counter-${id}`)).toBe(false);
  });

  it('handle appends the decided typed events, returns them as stored and the state folded over them', async () => {
    const counters = t.store.aggregate(counter, { streamPrefix: 'counter-' });
    const id = freshId();
    const first = await counters.handle(id, add(3));
    expect(first.version).toBe(1);
    expect(first.state.total).toBe(3);
    expect(first.events).toHaveLength(1);
    expect(first.events[0]).toMatchObject({ streamId: `counter-${id}`, streamVersion: 1, eventType: 'Added' });
    expect(first.events[0]!.data).toBeInstanceOf(Added);
    const second = await counters.handle(id, add(4));
    expect(second).toMatchObject({ version: 2, state: { total: 7 } });
    await expect(counters.load(id)).resolves.toEqual({ state: second.state, version: 2 });
  });

  it('plain EventData from decide; [] appends nothing; a refusal from decide is rethrown, nothing appended', async () => {
    const counters = t.store.aggregate(plainCounter, { streamPrefix: 'plain-' });
    const id = freshId();
    const command = add(5);
    const done = await counters.handle(id, command);
    expect(done.events.map((e) => e.data)).toEqual([{ ...command }]);
    const again = await counters.handle(id, command);
    expect(again).toEqual({ state: done.state, version: 1, events: [] });
    await expect(counters.handle(id, { amount: -1, commandId: 'neg' })).rejects.toBeInstanceOf(RangeError);
    expect(await t.store.endOf(`plain-${id}`)).toBe(1);
    await expect(t.store.aggregate(plainCounter, { streamPrefix: 'plain-' }).handle(freshId(), add(0))).resolves.toMatchObject({
      version: 1,
    });
  });

  it('16 concurrent commands on one aggregate: each applied exactly once, the state is the replay of the stream', async () => {
    const counters = t.store.aggregate(counter, { streamPrefix: 'counter-', retries: 40 });
    const id = freshId();
    const commands = Array.from({ length: 16 }, (_, i) => ({ amount: 2 ** i, commandId: `race-${id}-${i}` }));
    const results = await Promise.all(commands.map((command) => counters.handle(id, command)));

    const stream = await t.store.readStreamForward(`counter-${id}`);
    expect(stream).toHaveLength(16);
    const ids = stream.map((e) => (e.data as unknown as Added).commandId);
    expect(new Set(ids).size).toBe(16);
    expect([...ids].sort()).toEqual(commands.map((c) => c.commandId).sort());
    const replay = stream.reduce(counter.evolve, counter.initialState());
    expect(replay.total).toBe(2 ** 16 - 1);
    await expect(counters.load(id)).resolves.toEqual({ state: replay, version: 16 });
    // Each handle's result is the stream's state right after its own event.
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    for (const result of results) {
      expect(result.state).toEqual(stream.slice(0, result.version).reduce(counter.evolve, counter.initialState()));
      expect(result.events.map((e) => e.streamVersion)).toEqual([result.version]);
    }
  });

  it('retries exhausted: the last WRONG_EXPECTED_VERSION is thrown after 1 + retries decisions', async () => {
    const id = freshId();
    const streamId = `contested-${id}`;
    let decisions = 0;
    const counting: Decider<Counter, Add> = {
      ...plainCounter,
      decide: (command, state) => (decisions++, plainCounter.decide(command, state)),
    };
    const counters = t.store.aggregate(counting, { streamPrefix: 'contested-', retries: 5 });
    // Another writer gets in between every decision and its append.
    const append = t.store.appendToStream.bind(t.store);
    const contested = async (...args: Parameters<typeof append>) => {
      if (args[0] === streamId)
        await append(streamId, 'any', [{ eventType: 'Added', data: { amount: 0, commandId: `other-${decisions}` } }]);
      return append(...args);
    };
    Object.assign(t.store, { appendToStream: contested });
    try {
      const outcome = await counters.handle(id, add(1), { retries: 3 }).catch((error: unknown) => error);
      expect(outcome).toBeInstanceOf(WrongExpectedVersionError);
      expect(outcome).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', details: { streamId, expectedVersion: 3, actualVersion: 4 } });
      expect(decisions).toBe(4);
      decisions = 0;
      await expect(counters.handle(id, add(2))).rejects.toBeInstanceOf(WrongExpectedVersionError);
      expect(decisions).toBe(6);
    } finally {
      delete (t.store as { appendToStream?: unknown }).appendToStream;
    }
    // Uncontested again: the command goes through.
    await expect(counters.handle(id, add(3))).resolves.toMatchObject({ version: 11 });
  });

  describe('snapshots', () => {
    it('every N events: a snapshot is recorded, and load reads it and then only the events after it', async () => {
      const counters = t.store.aggregate(counter, { streamPrefix: 'snap-', snapshotEvery: 5 });
      const id = freshId();
      const streamId = `snap-${id}`;
      for (let i = 1; i <= 4; i++) await counters.handle(id, add(i));
      expect(await t.store.readSnapshot(streamId)).toBeNull();
      for (let i = 5; i <= 12; i++) await counters.handle(id, add(i));
      const snapshot = await t.store.readSnapshot(streamId);
      const tenth = (await t.store.readStreamForward(streamId, { fromVersion: 10, maxCount: 1 }))[0]!;
      expect(snapshot).toMatchObject({
        sourceVersion: 10,
        sourceType: 'aggregate',
        metadata: { snapshotVersion: 1, eventId: tenth.eventId },
      });
      expect((snapshot!.data as { state: Counter }).state.total).toBe(55);

      const { result, read } = await countReads(() => counters.load(id));
      expect(result).toMatchObject({ version: 12, state: { total: 78 } });
      // The snapshot's own event (to check it is still there), then the two after it.
      expect(read).toBe(3);
      // The snapshot is what load starts from: tampered, its total shows through.
      await tamperSnapshot(streamId, 1000);
      await expect(counters.load(id)).resolves.toMatchObject({ version: 12, state: { total: 1000 + 11 + 12 } });
      // An aggregate without a snapshot policy reads no snapshot: every event.
      const { result: unsnapshotted, read: all } = await countReads(() => t.store.aggregate(counter, { streamPrefix: 'snap-' }).load(id));
      expect(unsnapshotted.state.total).toBe(78);
      expect(all).toBe(12);
    });

    it('a predicate decides, given the state, the version and the events since the last snapshot', async () => {
      const seen: Array<Omit<SnapshotContext<Counter>, 'state'> & { total: number }> = [];
      const counters = t.store.aggregate(counter, {
        streamPrefix: 'pred-',
        snapshotEvery: ({ state, version, eventsSinceSnapshot }) => {
          seen.push({ total: state.total, version, eventsSinceSnapshot });
          return state.total >= 10;
        },
      });
      const id = freshId();
      for (const amount of [4, 5, 6, 7]) await counters.handle(id, add(amount));
      expect(seen).toEqual([
        { total: 4, version: 1, eventsSinceSnapshot: 1 },
        { total: 9, version: 2, eventsSinceSnapshot: 2 },
        { total: 15, version: 3, eventsSinceSnapshot: 3 },
        { total: 22, version: 4, eventsSinceSnapshot: 1 },
      ]);
      expect(await t.store.readSnapshot(`pred-${id}`)).toMatchObject({ sourceVersion: 4 });
    });

    it('a stale snapshot (another snapshotVersion) is ignored: the state is rebuilt from the events, then snapshotted anew', async () => {
      const id = freshId();
      const streamId = `stale-${id}`;
      const v1 = t.store.aggregate(counter, { streamPrefix: 'stale-', snapshotEvery: 3 });
      for (let i = 1; i <= 7; i++) await v1.handle(id, add(i));
      expect(await t.store.readSnapshot(streamId)).toMatchObject({ sourceVersion: 6, metadata: { snapshotVersion: 1 } });
      await tamperSnapshot(streamId, -500);

      const v2 = t.store.aggregate(counter, { streamPrefix: 'stale-', snapshotEvery: 3, snapshotVersion: 2 });
      const { result, read } = await countReads(() => v2.load(id));
      expect(result).toMatchObject({ version: 7, state: { total: 28 } });
      expect(read).toBe(7);
      await v2.handle(id, add(8));
      expect(await t.store.readSnapshot(streamId)).toMatchObject({ sourceVersion: 8, metadata: { snapshotVersion: 2 } });
      await expect(v2.load(id)).resolves.toMatchObject({ version: 8, state: { total: 36 } });
    });

    it('custom snapshot data; a snapshot that cannot be recorded does not fail handle', async () => {
      const id = freshId();
      const compact = t.store.aggregate(counter, {
        streamPrefix: 'compact-',
        snapshotEvery: 1,
        toSnapshot: (state) => ({ total: state.total, commands: state.commands.join(',') }),
        fromSnapshot: (data) => ({ total: data.total as number, commands: (data.commands as string).split(',') }),
      });
      await compact.handle(id, add(1));
      await compact.handle(id, add(2));
      expect((await t.store.readSnapshot(`compact-${id}`))!.data).toMatchObject({ total: 3 });
      await expect(compact.load(id)).resolves.toMatchObject({ version: 2, state: { total: 3 } });

      const broken = t.store.aggregate(counter, {
        streamPrefix: 'broken-',
        snapshotEvery: 1,
        toSnapshot: () => {
          throw new Error('no snapshot today');
        },
      });
      await expect(broken.handle(id, add(9))).resolves.toMatchObject({ version: 1, state: { total: 9 } });
      expect(await t.store.readSnapshot(`broken-${id}`)).toBeNull();
    });

    it('a hard-deleted stream loads as new, whatever its snapshot said', async () => {
      const id = freshId();
      const counters = t.store.aggregate(counter, { streamPrefix: 'gone-', snapshotEvery: 1 });
      await counters.handle(id, add(5));
      await t.store.deleteStream(`gone-${id}`, 'any', { mode: 'hard' });
      await expect(counters.load(id)).resolves.toEqual({ state: counter.initialState(), version: 0 });
      await expect(counters.handle(id, add(6))).resolves.toMatchObject({ version: 1, state: { total: 6 } });
    });

    it('a stream hard-deleted and written anew between load and append: handle decides again on the new stream only', async () => {
      const id = freshId();
      const streamId = `race-${id}`;
      const plain = t.store.aggregate(counter, { streamPrefix: 'race-' });
      for (const amount of [100, 200, 300]) await plain.handle(id, add(amount));
      // The store as the aggregate sees it: before its first append, the stream is replaced by a longer one.
      let replaced = false;
      const racing = Object.create(t.store, {
        appendToStream: {
          value: async (...args: Parameters<typeof t.store.appendToStream>) => {
            if (!replaced) {
              replaced = true;
              await t.store.deleteStream(streamId, 'any', { mode: 'hard' });
              for (const amount of [1, 2, 3, 4, 5]) await plain.handle(id, add(amount));
            }
            return t.store.appendToStream(...args);
          },
        },
      }) as typeof t.store;
      const result = await racing.aggregate(counter, { streamPrefix: 'race-' }).handle(id, add(10));
      expect(replaced).toBe(true);
      expect({ version: result.version, total: result.state.total, commands: result.state.commands.length }).toEqual({
        version: 6,
        total: 25,
        commands: 6,
      });
    });

    it('a snapshot of a stream that was hard-deleted and written anew is ignored: load and handle see the new events only', async () => {
      const id = freshId();
      const streamId = `reborn-${id}`;
      const counters = t.store.aggregate(counter, { streamPrefix: 'reborn-', snapshotEvery: 3 });
      for (const amount of [100, 200, 300]) await counters.handle(id, add(amount));
      expect(await t.store.readSnapshot(streamId)).toMatchObject({ sourceVersion: 3 });
      await t.store.deleteStream(streamId, 'any', { mode: 'hard' });

      // Fewer events than the snapshot's version, then more: the old state must never come back.
      await counters.handle(id, add(1));
      await expect(counters.load(id)).resolves.toMatchObject({ version: 1, state: { total: 1 } });
      for (const amount of [2, 3, 4]) await counters.handle(id, add(amount));
      const { state, version } = await counters.load(id);
      expect({ version, total: state.total, commands: state.commands.length }).toEqual({ version: 4, total: 10, commands: 4 });
      // A snapshot of the new stream is taken again, and used.
      for (const amount of [5, 6]) await counters.handle(id, add(amount));
      expect(await t.store.readSnapshot(streamId)).toMatchObject({ sourceVersion: 6 });
      await expect(counters.load(id)).resolves.toMatchObject({ version: 6, state: { total: 21 } });
    });
  });

  it('refuses bad options', () => {
    expect(() => t.store.aggregate(counter, {} as never)).toThrow(InvalidArgumentError);
    expect(() => t.store.aggregate(counter, { streamPrefix: 'x-', snapshotEvery: 0 })).toThrow(InvalidArgumentError);
    expect(() => t.store.aggregate(counter, { streamPrefix: 'x-', retries: -1 })).toThrow(InvalidArgumentError);
    expect(() => t.store.aggregate(counter, { streamPrefix: 'x-', snapshotVersion: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => t.store.aggregate({} as never, { streamPrefix: 'x-' })).toThrow(InvalidArgumentError);
  });
});
