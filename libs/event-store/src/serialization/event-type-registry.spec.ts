import 'reflect-metadata';
import type { JsonObject } from '../types/event-data.js';
import { EventType } from './event-type.decorator.js';
import { EventTypeRegistrationError, EventTypeRegistry } from './event-type-registry.js';

describe('EventTypeRegistry', () => {
  const verified = (register: (registry: EventTypeRegistry) => void): EventTypeRegistry => {
    const registry = new EventTypeRegistry();
    register(registry);
    registry.verify();
    return registry;
  };
  const failure = (register: (registry: EventTypeRegistry) => void): string => {
    try {
      verified(register);
    } catch (error) {
      expect(error).toBeInstanceOf(EventTypeRegistrationError);
      return (error as Error).message;
    }
    throw new Error('registration was accepted');
  };

  it('registers classes by name and by class, with their version and upcasters', () => {
    const up = (data: JsonObject): JsonObject => ({ ...data, hint: null });
    @EventType('GuessProcessed', { version: 2, upcasters: { 1: up } })
    class GuessProcessed {}
    @EventType('GameStarted')
    class GameStarted {}
    const registry = verified((r) => r.register([GuessProcessed, GameStarted]));
    expect(registry.forName('GuessProcessed')).toMatchObject({ name: 'GuessProcessed', version: 2, target: GuessProcessed });
    expect(registry.forName('GuessProcessed')!.upcasters.get(1)).toBe(up);
    expect(registry.forInstance(new GameStarted())).toMatchObject({ name: 'GameStarted', version: 1 });
    expect(registry.forName('Nope')).toBeUndefined();
    expect(registry.forInstance({})).toBeUndefined();
  });

  it('accepts the same class registered by two feature modules', () => {
    @EventType('Shared')
    class Shared {}
    expect(verified((r) => (r.register([Shared]), r.register([Shared]))).forName('Shared')?.target).toBe(Shared);
  });

  it('refuses one type name on two classes, naming both', () => {
    @EventType('GuessProcessed')
    class GuessProcessed {}
    @EventType('GuessProcessed')
    class OtherGuess {}
    expect(failure((r) => r.register([GuessProcessed, OtherGuess]))).toBe(
      "Event type registration failed: event type 'GuessProcessed' is claimed by GuessProcessed and OtherGuess",
    );
  });

  it.each([[0], [-1], [1.5], [Number.NaN]])('refuses version %p, naming the class', (version) => {
    @EventType('Bad', { version })
    class BadVersion {}
    expect(failure((r) => r.register([BadVersion]))).toMatch(/BadVersion: version .* of 'Bad' must be positive integers/);
  });

  it('refuses two upcasters for one version, naming where each came from', () => {
    @EventType('Scored', { version: 2, upcasters: { 1: (d) => d } })
    class Scored {}
    expect(failure((r) => r.register([Scored], [{ eventType: 'Scored', fromVersion: 1, upcast: (d) => d }]))).toBe(
      "Event type registration failed: 'Scored' has 2 upcasters from version 1 (Scored, forFeature upcasters)",
    );
  });

  it('refuses a version chain with a missing upcaster', () => {
    @EventType('GuessProcessed', { version: 3, upcasters: { 1: (d) => d } })
    class GuessProcessed {}
    expect(failure((r) => r.register([GuessProcessed]))).toBe(
      "Event type registration failed: 'GuessProcessed' (GuessProcessed) is at version 3 but has no upcaster from version 2 to 3",
    );
  });

  it('accepts a type introduced at a later version with firstVersion, and upcasters given to forFeature', () => {
    @EventType('Late', { version: 3, firstVersion: 3 })
    class Late {}
    @EventType('Chained', { version: 2 })
    class Chained {}
    const registry = verified((r) => r.register([Late, Chained], [{ eventType: 'Chained', fromVersion: 1, upcast: (d) => d }]));
    expect(registry.forName('Late')?.firstVersion).toBe(3);
    expect(registry.forName('Chained')?.upcasters.size).toBe(1);
  });

  it('refuses an undecorated class, upcasters outside the chain, and upcasters for no class, all in one message', () => {
    class Plain {}
    @EventType('Short', { version: 2, upcasters: { 1: (d) => d, 2: (d) => d } })
    class Short {}
    const message = failure((r) => r.register([Plain, Short], [{ eventType: 'Ghost', fromVersion: 1, upcast: (d) => d }]));
    expect(message).toContain('Plain has no @EventType(...) decorator');
    expect(message).toContain("'Short' (Short) has an upcaster from version 2, outside 1..1");
    expect(message).toContain("upcasters are given for 'Ghost', which no registered class declares");
    expect(message.split('; ')).toHaveLength(3);
  });

  it('refuses bad type names and upcasters that are not functions; accepts one upcaster given twice', () => {
    @EventType('')
    class Empty {}
    @EventType('bad\u001fname')
    class Control {}
    @EventType('Fine', { version: 2, upcasters: { 1: null as unknown as (d: JsonObject) => JsonObject } })
    class NotAFunction {}
    const message = failure((r) => r.register([Empty, Control, NotAFunction]));
    expect(message).toContain('Empty: event type name "" must be 1 to 200 characters');
    expect(message).toContain('Control: event type name');
    expect(message).toContain("'Fine' has an upcaster from version 1 (NotAFunction) that is not a function");
    const shared = (d: JsonObject): JsonObject => d;
    @EventType('Twice', { version: 2 })
    class Twice {}
    const upcasters = [{ eventType: 'Twice', fromVersion: 1, upcast: shared }];
    expect(verified((r) => (r.register([Twice], upcasters), r.register([Twice], upcasters))).forName('Twice')?.upcasters.size).toBe(1);
  });
});
