import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import {
  causedBy,
  CorruptedEventError,
  EventStoreModule,
  EventType,
  EventTypeRegistrationError,
  EventValidationFailedError,
  UnknownEventTypeError,
  UnsupportedSchemaVersionError,
} from '@game-bot/event-store';
import { createTestStore, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

/** The event as the game first wrote it. */
@EventType('GuessProcessed')
class GuessProcessedV1 {
  @IsString() guess!: string;
  @IsString() player!: string;
}

/** Version 2 added `hint` (default null); version 3 renamed `player` to `playerId` and added `round`. */
@EventType('GuessProcessed', {
  version: 3,
  upcasters: {
    1: (data) => ({ ...data, hint: null }),
    2: ({ player, ...rest }) => ({ ...rest, playerId: (player as string).trim(), round: 1 }),
  },
})
class GuessProcessed {
  @IsString() guess!: string;
  @IsString() playerId!: string;
  @IsOptional() @IsString() hint: string | null = null;
  @IsInt() @Min(1) round!: number;
}

class Score {
  @IsInt() points!: number;
}

@EventType('RoundScored')
class RoundScored {
  @ValidateNested() @Type(() => Score) score!: Score;
  @IsDate() @Type(() => Date) at!: Date;
}

const v1 = (guess: string, player: string): GuessProcessedV1 => Object.assign(new GuessProcessedV1(), { guess, player });

describe('typed events on real PostgreSQL', () => {
  const schema = uniqueSchema('typed');
  const stores: TestStore[] = [];
  const open = async (events: Array<new () => object>, strict = false): Promise<TestStore> => {
    const t = await createTestStore(
      { schema, unregisteredEventTypes: strict ? 'reject' : 'allow' },
      undefined,
      events.length ? [EventStoreModule.forFeature(events)] : [],
    );
    stores.push(t);
    return t;
  };

  afterAll(async () => {
    for (const t of stores.slice(1)) await t.app.close().then(() => t.sql.end());
    await stores[0]?.close();
  });

  it('appends instances and reads them back as instances, nested objects and dates restored', async () => {
    const t = await open([GuessProcessedV1, RoundScored]);
    await t.store.appendToStream('game-1', 'no_stream', [
      v1('crane', ' bot-1 '),
      { data: v1('slate', 'bot-2'), metadata: { source: 'test' } },
      Object.assign(new RoundScored(), { score: Object.assign(new Score(), { points: 7 }), at: new Date('2026-11-27T09:00:00Z') }),
    ]);
    const [first, second, scored] = await t.store.readStreamForward('game-1');
    expect(first).toMatchObject({ eventType: 'GuessProcessed', schemaVersion: 1 });
    expect(first!.data).toBeInstanceOf(GuessProcessedV1);
    expect(second!.metadata).toEqual({ source: 'test' });
    expect(scored!.data).toBeInstanceOf(RoundScored);
    const round = scored!.data as unknown as RoundScored;
    expect(round.score).toBeInstanceOf(Score);
    expect(round.at).toEqual(new Date('2026-11-27T09:00:00Z'));
  });

  it('reads v1 events stored by the old code as v3 instances once the class has evolved', async () => {
    const t = await open([GuessProcessed, RoundScored]);
    const events = await t.store.readStreamForward('game-1');
    const guesses = events.filter((e) => e.eventType === 'GuessProcessed');
    expect(guesses.every((e) => e.data instanceof GuessProcessed && e.schemaVersion === 1)).toBe(true);
    expect(guesses.map((e) => ({ ...e.data }))).toEqual([
      { guess: 'crane', playerId: 'bot-1', hint: null, round: 1 },
      { guess: 'slate', playerId: 'bot-2', hint: null, round: 1 },
    ]);
    const { rows } = await t.sql.query(`SELECT data FROM "${schema}".events WHERE stream_id = 'game-1' ORDER BY stream_version`);
    expect(rows[0].data).toEqual({ guess: 'crane', player: ' bot-1 ' });
    await t.allVisible();
    const all = await t.store.readAllForward();
    expect(all.events.filter((e) => e.data instanceof GuessProcessed)).toHaveLength(2);
    for await (const event of t.store.streamBackward('game-1')) {
      if (event.eventType === 'GuessProcessed') expect(event.data).toBeInstanceOf(GuessProcessed);
    }
  });

  it('stores new events at v3; the old code meets them as UNSUPPORTED_SCHEMA_VERSION', async () => {
    const [, current] = stores;
    const stored = Object.assign(new GuessProcessed(), { guess: 'trace', playerId: 'bot-3', round: 2 });
    await current!.store.appendToStream('game-2', 'no_stream', [stored]);
    expect((await current!.store.readStreamForward('game-2'))[0]).toMatchObject({ schemaVersion: 3, data: stored });
    const old = stores[0]!;
    const error = await old.store.readStreamForward('game-2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedSchemaVersionError);
    expect(error).toMatchObject({
      code: 'UNSUPPORTED_SCHEMA_VERSION',
      details: { eventType: 'GuessProcessed', schemaVersion: 3, latestVersion: 1 },
    });
  });

  it('a validation failure stores nothing of the append', async () => {
    const [, current] = stores;
    const valid = Object.assign(new GuessProcessed(), { guess: 'ok', playerId: 'p', round: 1 });
    const invalid = Object.assign(new GuessProcessed(), { guess: 'bad', playerId: 7, round: 0 });
    const error = await current!.store.appendToStream('game-3', 'no_stream', [valid, invalid]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationFailedError);
    expect(error).toMatchObject({
      code: 'EVENT_VALIDATION_FAILED',
      details: { at: 'events[1]', fields: [{ property: 'playerId' }, { property: 'round' }] },
    });
    expect(await current!.store.streamExists('game-3')).toBe(false);
  });

  it('a stored payload that still misses required fields after upcasting is EVENT_VALIDATION_FAILED naming the event', async () => {
    const untyped = await open([]);
    await untyped.store.appendToStream('game-4', 'no_stream', [
      { eventType: 'GuessProcessed', data: { guess: 'x', player: 'p' }, schemaVersion: 2 },
    ]);
    await untyped.store.appendToStream('game-4', 1, [{ eventType: 'GuessProcessed', data: { player: 'p' } }]);
    const [, current] = stores;
    const error = await current!.store.readStreamForward('game-4').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventValidationFailedError);
    const [, broken] = await untyped.store.readStreamForward('game-4');
    expect(error).toMatchObject({
      details: { eventId: broken!.eventId, streamId: 'game-4', streamVersion: 2, fields: [{ property: 'guess' }] },
    });
    expect((error as Error).message).toContain(broken!.eventId);
    expect((await current!.store.readStreamForward('game-4', { maxCount: 1 }))[0]!.data).toBeInstanceOf(GuessProcessed);
  });

  it('a payload the upcasters cannot read is CORRUPTED_EVENT naming the event', async () => {
    const untyped = stores.at(-1)!;
    await untyped.store.appendToStream('game-5', 'no_stream', [{ eventType: 'GuessProcessed', data: { guess: 'x', player: 42 } }]);
    const [, current] = stores;
    const error = await current!.store.readStreamForward('game-5').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptedEventError);
    expect((error as Error).message).toMatch(/upcasting it failed/);
  });

  it('strict stores refuse unregistered types on append and on read; permissive ones pass them as JSON', async () => {
    const permissive = stores.at(-1)!;
    await permissive.store.appendToStream('misc-1', 'no_stream', [{ eventType: 'Untyped', data: { any: ['json', 1] } }]);
    expect((await permissive.store.readStreamForward('misc-1'))[0]!.data).toEqual({ any: ['json', 1] });
    const strict = await open([GuessProcessed], true);
    await expect(strict.store.appendToStream('misc-2', 'any', [{ eventType: 'Untyped', data: {} }])).rejects.toBeInstanceOf(
      UnknownEventTypeError,
    );
    await expect(strict.store.readStreamForward('misc-1')).rejects.toMatchObject({ code: 'UNKNOWN_EVENT_TYPE' });
    expect(await strict.store.streamExists('misc-2')).toBe(false);
  });

  it('carries causation and correlation forward', async () => {
    const [, current] = stores;
    const [start] = await current!.store.readStreamForward('game-2');
    await current!.store.appendToStream('game-6', 'no_stream', [{ eventType: 'Reacted', data: {} }], { causedBy: start! });
    const [reaction] = await current!.store.readStreamForward('game-6');
    expect(reaction).toMatchObject({ causationId: start!.eventId, correlationId: start!.eventId });
    await current!.store.appendToStream('game-6', 1, [{ eventType: 'ReactedAgain', data: {}, ...causedBy(reaction!) }]);
    const [, second] = await current!.store.readStreamForward('game-6');
    expect(second).toMatchObject({ causationId: reaction!.eventId, correlationId: start!.eventId });
  });

  it('a bad registration stops the boot with one message naming the classes', async () => {
    @EventType('GuessProcessed')
    class Impostor {}
    await expect(
      createTestStore({ schema }, undefined, [EventStoreModule.forFeature([GuessProcessed]), EventStoreModule.forFeature([Impostor])]),
    ).rejects.toThrow(
      new EventTypeRegistrationError(
        "Event type registration failed: event type 'GuessProcessed' is claimed by GuessProcessed and Impostor",
      ),
    );
  });
});

describe('JSON fidelity on real PostgreSQL', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore({}, 'fidelity');
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores payloads exactly as JSON has them: unicode, escapes, nesting, arrays, big and small numbers', async () => {
    const data = {
      text: 'Ünïcødé ✓ 🎲 日本語 — "quoted" \\ back\nslash\ttab \u0001 soh \u001f unit',
      nested: { deeper: { list: [1, 'two', { three: [3, [], {}] }], empty: '' } },
      numbers: [0, -1, 1.5, 1e21, 2 ** 53 - 1, -(2 ** 53 - 1), 5e-324],
      asString: '123456789012345678901234567890',
      flags: [true, false, null],
      'key with spaces & ünïcode': 1,
    };
    const metadata = { 'x-trace': 'abc', nested: { ok: true } };
    await t.store.appendToStream('fidelity-1', 'no_stream', [{ eventType: 'Everything', data, metadata }]);
    const [event] = await t.store.readStreamForward('fidelity-1');
    expect(event!.data).toEqual(data);
    expect(event!.metadata).toEqual(metadata);
  });

  it('stores a 1 MB payload', async () => {
    const data = { blob: 'x'.repeat(1_000_000), list: Array.from({ length: 10_000 }, (_, i) => i) };
    await t.store.appendToStream('fidelity-2', 'no_stream', [{ eventType: 'Big', data }]);
    expect((await t.store.readStreamForward('fidelity-2'))[0]!.data).toEqual(data);
  });

  it('refuses what JSON would alter, naming the path, and stores nothing', async () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const data of [{ f: () => 1 }, { u: undefined }, { n: 1n }, { x: Number.NaN }, cycle, { m: new Map() }, { nul: 'a\u0000b' }]) {
      await expect(t.store.appendToStream('fidelity-3', 'any', [{ eventType: 'Bad', data }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(/^events\[0\]\.data\.\w+ cannot be stored as JSON/),
      });
    }
    expect(await t.store.streamExists('fidelity-3')).toBe(false);
  });
});
