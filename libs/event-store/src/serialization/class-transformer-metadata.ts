import { Type } from 'class-transformer';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PLAIN_PAYLOAD = Symbol('event-store:plain-payload');

/**
 * Declares that class-transformer has nothing to do for an event class: no `@Type`, `@Transform`
 * (so no `@JsonBigInt`), `@Expose` or `@Exclude` on it or on a class it extends. The store finds
 * that out by itself where it can (see {@link needsClassTransformer}); this declaration is for
 * where it cannot (an application bundled so that class-transformer's metadata is out of the
 * store's sight), so that such classes still get the fast path: `new Class()` and a copy of the
 * stored fields (0.6 µs an event of nine fields, against 5 µs through `plainToInstance`). Not
 * inherited: a subclass declares it again.
 *
 * Declaring it on a class that does use class-transformer is a mistake the store cannot see: its
 * events are read without their nested classes, dates and transforms.
 *
 * @example
 * @PlainPayload()
 * @EventType('GuessProcessed')
 * export class GuessProcessed {
 *   @IsString() guess!: string;
 *   @IsInt() @Min(0) score!: number;
 * }
 */
export function PlainPayload(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(PLAIN_PAYLOAD, true, target);
  };
}

/** What is read of class-transformer's metadata storage: its per-class maps and the ancestors of a class. */
interface MetadataMaps {
  maps: Array<Map<unknown, unknown>>;
  getAncestors(target: unknown): unknown[];
}

const METADATA_MAPS = ['_typeMetadatas', '_transformMetadatas', '_exposeMetadatas', '_excludeMetadatas'];

/**
 * Whether a class needs class-transformer (`@Type`, `@Transform`, `@Expose`, `@Exclude` on it or
 * an ancestor): `false` for one declared {@link PlainPayload}; otherwise the answer of
 * class-transformer's own metadata when the store can read it, and `true` (the general path,
 * always right) when it cannot.
 *
 * class-transformer has no public question for this. Its metadata storage is read from the very
 * copy of the package that `import 'class-transformer'` resolves to here (the module beside the
 * entry point that the public `Type` below comes from), never from a path of the store's own
 * choosing: with class-transformer a peer dependency, that is the copy the application's
 * decorators write to. Before it is trusted, a probe class decorated with the public `Type` must
 * show up in it; a bundler that loads another copy, or a release that moves the storage, fails the
 * probe, and every undeclared class then takes the general path.
 */
export function needsClassTransformer(target: abstract new (...args: never[]) => unknown): boolean {
  if (Reflect.getOwnMetadata(PLAIN_PAYLOAD, target) === true) {
    return false;
  }
  if (STORAGE === undefined) {
    return true;
  }
  const classes = [target, ...STORAGE.getAncestors(target)];
  return STORAGE.maps.some((map) => classes.some((type) => map.has(type)));
}

const STORAGE = readableStorage();

function readableStorage(): MetadataMaps | undefined {
  try {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('class-transformer');
    const storage = (require(join(dirname(entry), 'storage.js')) as { defaultMetadataStorage?: Record<string, unknown> })
      .defaultMetadataStorage;
    const maps = METADATA_MAPS.map((name) => storage?.[name]);
    if (!storage || !maps.every((map) => map instanceof Map) || typeof storage.getAncestors !== 'function') {
      return undefined;
    }
    const readable = {
      maps: maps as Array<Map<unknown, unknown>>,
      getAncestors: (type: unknown) => (storage.getAncestors as (t: unknown) => unknown[]).call(storage, type),
    };
    return seesPublicDecorators(readable) ? readable : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a class decorated through the public entry point shows up in `storage`. */
function seesPublicDecorators(storage: MetadataMaps): boolean {
  class Probe {
    at?: Date;
  }
  Type(() => Date)(Probe.prototype, 'at');
  return storage.maps[0]!.has(Probe);
}

type Fields = Record<string, unknown>;

/** What {@link jsonCopy} gives for a value it does not copy. */
const NOT_COPIED = Symbol('not copied');

/**
 * What `plainToInstance(target, data)` gives for a class without class-transformer metadata,
 * without going through it; `undefined` when `data` holds anything but plain JSON values (an
 * upcaster may return dates, class instances, `undefined`) or a nested key naming a member of
 * `Object.prototype`, which class-transformer treats in ways not worth copying here: the caller
 * then uses `plainToInstance` itself. The payload is copied before `new target()`, so that the
 * constructor runs once either way.
 *
 * What is copied follows class-transformer 0.5's `TransformOperationExecutor` rule by rule: every
 * own key of `data` except `__proto__`, `constructor`, a getter without setter or a method of the
 * class, and a function the constructor set (what makes the instance what it is); a setter runs;
 * nested arrays and objects are copied, not shared. With `parsed` (a payload JSON.parse just made
 * for one event, which nothing else holds) nested values are taken as they are, uncopied: a read
 * then costs what a plain assignment does, and returns nested keys exactly as stored.
 */
export function plainCopyToInstance(target: new () => object, data: unknown, parsed = false): object | undefined {
  if (!isPlainObject(data)) {
    return undefined;
  }
  const keys = Object.keys(data);
  const values: unknown[] = [];
  for (const key of keys) {
    // What JSON.parse just made for one event is plain JSON that nothing else holds: no copy needed.
    const value = parsed ? data[key] : jsonCopy(data[key]);
    if (value === NOT_COPIED) {
      return undefined;
    }
    values.push(value);
  }
  const instance = new target() as Fields;
  const prototype = (instance.constructor as { prototype?: object | null }).prototype;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if (!definedByClass(instance, prototype, key)) {
      instance[key] = values[index];
    }
  }
  return instance;
}

/** Whether `plainToInstance` leaves a key as the new instance has it, by its own rule. */
function definedByClass(instance: Fields, prototype: object | null | undefined, key: string): boolean {
  if (key === '__proto__' || key === 'constructor') {
    return true;
  }
  if (!prototype) {
    return false;
  }
  // A key found nowhere on the instance and its prototype chain is not skipped: asking `in` first
  // spares most keys the descriptor look-up.
  if (!(key in instance) && prototype === Object.getPrototypeOf(instance)) {
    return false;
  }
  const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
  return (descriptor !== undefined && descriptor.set === undefined) || instance[key] instanceof Function;
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** A deep copy of a JSON value as `plainToInstance` makes it with no type; {@link NOT_COPIED} for anything else. */
function jsonCopy(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'object':
      if (value === null) {
        return value;
      }
      return Array.isArray(value) ? arrayCopy(value) : objectCopy(value);
    default:
      return NOT_COPIED;
  }
}

/** Items as `forEach` visits them, as class-transformer does: holes are left out. */
function arrayCopy(items: unknown[]): unknown {
  const copied: unknown[] = [];
  let complete = true;
  items.forEach((item) => {
    const value = jsonCopy(item);
    complete &&= value !== NOT_COPIED;
    copied.push(value);
  });
  return complete ? copied : NOT_COPIED;
}

function objectCopy(value: object): unknown {
  if (!isPlainObject(value)) {
    return NOT_COPIED;
  }
  const copied: Fields = {};
  for (const key of Object.keys(value)) {
    const item = key in Object.prototype ? NOT_COPIED : jsonCopy(value[key]);
    if (item === NOT_COPIED) {
      return NOT_COPIED;
    }
    copied[key] = item;
  }
  return copied;
}
