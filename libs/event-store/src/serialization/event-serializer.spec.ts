import 'reflect-metadata';
import { Exclude, Expose, plainToInstance, Transform, Type } from 'class-transformer';
import { IsArray, IsDate, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import type { RecordedEvent } from '../types/event-data.js';
import { PlainPayload } from './class-transformer-metadata.js';
import { EventSerializer } from './event-serializer.js';
import { EventType } from './event-type.decorator.js';
import { EventTypeRegistry } from './event-type-registry.js';
import { JsonBigInt } from './json-bigint.decorator.js';

class Board {
  @IsArray()
  @IsString({ each: true })
  rows!: string[];
}

@EventType('GuessProcessed')
class GuessProcessed {
  @IsString() guess!: string;
  @IsInt() @Min(0) score!: number;
  @ValidateNested() @Type(() => Board) board!: Board;
  @IsDate() @Type(() => Date) at!: Date;
  @JsonBigInt() pot!: bigint;
  @IsOptional() @IsString() hint?: string;

  constructor(fields?: Partial<GuessProcessed>) {
    Object.assign(this, fields);
  }
}

/** Stores like PostgreSQL would: the payload goes through JSON text and back. */
function stored(serializer: EventSerializer, event: object): RecordedEvent {
  const [record] = serializer.toRecords([event], 10);
  return {
    eventId: record!.event_id,
    eventType: record!.event_type,
    schemaVersion: record!.schema_version,
    data: JSON.parse(JSON.stringify(record!.data)),
    metadata: JSON.parse(JSON.stringify(record!.metadata)),
    causationId: record!.causation_id,
    correlationId: record!.correlation_id,
    streamId: 'game-1',
    streamVersion: 1,
    globalPosition: 1,
    createdAt: new Date(),
  };
}

describe('EventSerializer', () => {
  const registry = new EventTypeRegistry();
  registry.register([GuessProcessed]);
  registry.verify();
  const serializer = new EventSerializer(registry, 'allow');
  const guess = (): GuessProcessed =>
    new GuessProcessed({
      guess: 'crâne ✓ 🎲',
      score: 3,
      board: Object.assign(new Board(), { rows: ['c', 'r'] }),
      at: new Date('2026-11-27T08:15:30.123Z'),
      pot: 123456789012345678901234567890n,
    });

  it('round-trips a typed event: class, nested object, date, bigint, unicode; unset fields left out', () => {
    const event = stored(serializer, guess());
    expect(event).toMatchObject({ eventType: 'GuessProcessed', schemaVersion: 1 });
    expect(event.data).toEqual({
      guess: 'crâne ✓ 🎲',
      score: 3,
      board: { rows: ['c', 'r'] },
      at: '2026-11-27T08:15:30.123Z',
      pot: '123456789012345678901234567890',
    });
    const read = serializer.fromStored(event).data as unknown as GuessProcessed;
    expect(read).toBeInstanceOf(GuessProcessed);
    expect(read.board).toBeInstanceOf(Board);
    expect(read.at).toEqual(new Date('2026-11-27T08:15:30.123Z'));
    expect(read.pot).toBe(123456789012345678901234567890n);
    expect('hint' in read).toBe(false);
  });

  it('takes an envelope around an instance, with metadata and causation', () => {
    const cause = { eventId: '7d3f5a2e-1b4c-4d8e-9f60-0a1b2c3d4e5f', correlationId: null };
    const [record] = serializer.toRecords([{ data: guess(), metadata: { by: 'bot' } }], 10, {
      causedBy: cause,
      metadata: { app: 'x', by: 'app' },
    });
    expect(record).toMatchObject({
      event_type: 'GuessProcessed',
      metadata: { app: 'x', by: 'bot' },
      causation_id: cause.eventId,
      correlation_id: cause.eventId,
    });
  });

  it('refuses an invalid instance with every failing field, nested ones included', () => {
    const bad = new GuessProcessed({
      guess: 42 as unknown as string,
      score: -1,
      board: Object.assign(new Board(), { rows: [1] }),
      at: new Date(),
      pot: 1n,
    });
    try {
      serializer.toRecords([bad], 10);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toMatchObject({ code: 'EVENT_VALIDATION_FAILED', details: { eventType: 'GuessProcessed', at: 'events[0]' } });
      const fields = (error as { details: { fields: Array<{ property: string }> } }).details.fields.map((f) => f.property);
      expect(fields).toEqual(['guess', 'score', 'board.rows']);
    }
  });

  it('validates plain JSON of a registered type against its class', () => {
    expect(() => serializer.toRecords([{ eventType: 'GuessProcessed', data: { guess: 'x' } }], 10)).toThrow(/fails validation/);
    const valid = { guess: 'x', score: 1, board: { rows: [] }, at: '2026-11-27T00:00:00Z', pot: '1' };
    expect(serializer.toRecords([{ eventType: 'GuessProcessed', data: valid }], 10)[0]).toMatchObject({ schema_version: 1 });
  });

  it('refuses a schema version that does not match the registration', () => {
    expect(() => serializer.toRecords([{ eventType: 'GuessProcessed', schemaVersion: 2, data: {} }], 10)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_SCHEMA_VERSION' }),
    );
    expect(() => serializer.toRecords([{ data: guess(), schemaVersion: 3 }], 10)).toThrow(/is version 1, not 3/);
  });

  it('refuses payloads JSON would alter, and class instances nobody registered', () => {
    expect(() => serializer.toRecords([{ eventType: 'Raw', data: { n: 1n } }], 10)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => serializer.toRecords([{ eventType: 'Raw', data: { f: undefined } }], 10)).toThrow(/undefined has no JSON form/);
    class Unregistered {
      x = 1;
    }
    expect(() => serializer.toRecords([new Unregistered()], 10)).toThrow(/an instance of Unregistered, which is not registered/);
  });

  it('passes unregistered types as plain JSON, or refuses them when strict', () => {
    const plain = stored(serializer, { eventType: 'Raw', data: { a: [1, { b: 'c' }] } });
    expect(serializer.fromStored(plain).data).toEqual({ a: [1, { b: 'c' }] });
    const strict = new EventSerializer(registry, 'reject');
    expect(() => strict.toRecords([{ eventType: 'Raw', data: {} }], 10)).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
    expect(() => strict.fromStored(plain)).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
    expect(strict.fromStored(stored(strict, guess())).data).toBeInstanceOf(GuessProcessed);
  });
});

describe('EventSerializer: payloads that try to slip past the class', () => {
  @EventType('Scored', {
    version: 2,
    upcasters: { 1: (data, context) => ({ ...data, points: data.points ?? 0, gameId: context.streamId }) },
  })
  class Scored {
    @IsString() player!: string;
    @IsInt() @Min(0) points!: number;
    @IsString() gameId!: string;
    describe(): string {
      return `${this.player}: ${this.points}`;
    }
  }
  @EventType('Needy')
  class Needy {
    @IsString() name!: string;
    constructor(required: { name: string }) {
      this.name = required.name.trim();
    }
  }
  @EventType('Loose')
  class Loose {
    @IsOptional() @Type(() => Date) at?: Date;
    [key: string]: unknown;
  }
  const registry = new EventTypeRegistry();
  registry.register([Scored, Needy, Loose]);
  registry.verify();
  const serializer = new EventSerializer(registry, 'allow');
  const record = (event: object, streamId = 'game-9') => serializer.toRecords([event], 10, {}, streamId)[0]!;

  it('validates keys named after the prototype (__proto__, constructor, methods) like class-transformer: skipped', () => {
    const viaJson = JSON.parse('{"__proto__": {}, "player": 5, "points": -1, "gameId": "g"}') as Record<string, unknown>;
    expect(() => record({ eventType: 'Scored', schemaVersion: 2, data: viaJson })).toThrow(
      expect.objectContaining({ code: 'EVENT_VALIDATION_FAILED' }),
    );
    expect(() => record({ eventType: 'Scored', schemaVersion: 2, data: { constructor: 'x', player: 5, points: -1, gameId: 'g' } })).toThrow(
      expect.objectContaining({ code: 'EVENT_VALIDATION_FAILED' }),
    );
    const read = serializer.fromStored(
      stored(serializer, { eventType: 'Scored', schemaVersion: 2, data: { player: 'p', points: 1, gameId: 'g', describe: 'x' } }),
    );
    expect(read.data).toBeInstanceOf(Scored);
    expect((read.data as unknown as Scored).describe()).toBe('p: 1');
  });

  it('upcasts a copy at write time, with the stream id in the context', () => {
    const data = { player: 'p' };
    const written = record({ eventType: 'Scored', schemaVersion: 1, data });
    expect(data).toEqual({ player: 'p' });
    expect(written).toMatchObject({ schema_version: 1, data: { player: 'p' } });
  });

  it('turns user code that throws into store errors: EVENT_VALIDATION_FAILED on append, CORRUPTED_EVENT on read', () => {
    expect(() => record({ eventType: 'Needy', data: { name: 'x' } })).toThrow(expect.objectContaining({ code: 'EVENT_VALIDATION_FAILED' }));
    const plain = stored(new EventSerializer(new EventTypeRegistry(), 'allow'), { eventType: 'Needy', data: { name: 'x' } });
    expect(() => serializer.fromStored(plain)).toThrow(expect.objectContaining({ code: 'CORRUPTED_EVENT' }));
  });

  it('refuses, in a transformed class, what class-transformer would silently change', () => {
    const withFunction = Object.assign(new Loose(), { fn: () => 1 });
    expect(() => record(withFunction)).toThrow(/fn cannot be stored as JSON: function/);
    expect(() => record(Object.assign(new Loose(), { m: new Map([['a', 1]]) }))).toThrow(/a Map would lose/);
    const cyclic = new Loose();
    cyclic.self = cyclic;
    expect(() => record(cyclic)).toThrow(/cycle/);
  });

  it('refuses an instance of a class that is not registered, naming it', () => {
    class Unregistered {
      x = 1;
    }
    expect(() => record(new Unregistered())).toThrow(/an instance of Unregistered, which is not registered/);
    expect(() => record({ data: new Unregistered() })).toThrow(/events\[0\]\.data: an instance of Unregistered/);
    class Sub extends Scored {}
    const strict = new EventSerializer(registry, 'reject');
    expect(() => strict.toRecords([new Sub()], 10)).toThrow(expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }));
  });

  it('@JsonBigInt reads integral numbers as bigints too', () => {
    @EventType('Pot')
    class Pot {
      @JsonBigInt() amount!: bigint;
    }
    const pots = new EventTypeRegistry();
    pots.register([Pot]);
    pots.verify();
    const read = new EventSerializer(pots, 'allow').fromStored(
      stored(new EventSerializer(new EventTypeRegistry(), 'allow'), { eventType: 'Pot', data: { amount: 5 } }),
    );
    expect((read.data as unknown as Pot).amount).toBe(5n);
  });
});

/** An instance as comparable data: its class, then its own fields in order; functions by kind, each instance has its own. */
function comparable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const fields = Object.entries(value).map(([key, field]) => [key, typeof field === 'function' ? 'a function' : field]);
  return { type: value.constructor, fields };
}

describe('EventSerializer: restoring instances as plainToInstance does', () => {
  const NO_TAGS: string[] = [];
  @EventType('Renamed', { version: 2, upcasters: { 1: (data) => ({ ...data, tags: NO_TAGS }) } })
  class Renamed {
    @IsString() name!: string;
    @IsArray() tags!: string[];
    onRename = (): string => 'kept';
    shout?: string;
    get loud(): string | undefined {
      return this.shout;
    }
    set loud(value: string | undefined) {
      this.shout = value?.toUpperCase();
    }
  }
  @EventType('Hidden')
  class Hidden {
    @Expose({ name: 'p' }) player!: string;
    @Exclude({ toClassOnly: true }) secret?: string;
    @Transform(({ value }: { value: unknown }) => value === 'yes' || value, { toClassOnly: true })
    agreed!: unknown;
  }
  @PlainPayload()
  @EventType('Declared')
  class Declared {
    @IsString() name!: string;
    @Type(() => Date) at!: Date;
  }
  const registry = new EventTypeRegistry();
  registry.register([Renamed, Hidden, Declared]);
  registry.verify();
  const serializer = new EventSerializer(registry, 'allow');
  const plain = new EventSerializer(new EventTypeRegistry(), 'allow');
  const read = <T>(eventType: string, data: Record<string, unknown>, schemaVersion = 1): T =>
    serializer.fromStored(stored(plain, { eventType, schemaVersion, data })).data as unknown as T;

  it('a class without class-transformer decorators: setters run, functions the constructor set are kept', () => {
    const data = { name: 'n', tags: ['t'], loud: 'hey', onRename: 'overwritten?' };
    const renamed = read<Renamed>('Renamed', data, 2);
    expect(comparable(renamed)).toStrictEqual(comparable(plainToInstance(Renamed, data)));
    expect(renamed.shout).toBe('HEY');
    expect(renamed.onRename()).toBe('kept');
  });

  it('values an upcaster shares between events are copied, not shared by the instances', () => {
    const first = read<Renamed>('Renamed', { name: 'a' });
    const second = read<Renamed>('Renamed', { name: 'b' });
    first.tags.push('mine');
    expect(second.tags).toEqual([]);
    expect(NO_TAGS).toEqual([]);
  });

  it('honours @Expose names, @Exclude and @Transform of a class that has no @Type', () => {
    const hidden = read<Hidden>('Hidden', { p: 'bot', secret: 's', agreed: 'yes' });
    expect(hidden).toBeInstanceOf(Hidden);
    expect(hidden).toMatchObject({ player: 'bot', agreed: true });
    expect('secret' in hidden).toBe(false);
  });

  it('reads a class declared @PlainPayload() by a plain copy: the declaration is trusted, a @Type on it ignored', () => {
    const data = { name: 'n', at: '2026-11-27T00:00:00.000Z', nested: { a: [1] } };
    expect(read<Declared>('Declared', data)).toStrictEqual(Object.assign(new Declared(), data));
  });
});
