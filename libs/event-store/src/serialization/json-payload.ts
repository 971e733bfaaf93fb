import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { hasLoneSurrogate } from '../validation/stream-id.validation.js';

/**
 * Refuses a payload that JSON would silently alter, or PostgreSQL could not store (U+0000): `undefined`, functions, symbols, bigints,
 * NaN and Infinity, cycles, sparse arrays, and objects other than plain objects, arrays and valid
 * dates (a Map or a class instance would be stored as `{}` or lose its prototype). Dates are
 * stored as ISO-8601 strings.
 */
export function assertJsonPayload(value: unknown, path: string): void {
  check(value, path, new Set());
}

function check(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      return checkString(value, path);
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw refused(path, `${value} is not a JSON number`);
      }
      return;
    case 'bigint':
      throw refused(path, 'a bigint has no JSON form: store it as a string (typed events: @JsonBigInt())');
    case 'object':
      return checkObject(value, path, ancestors);
    default:
      throw refused(path, `${typeof value} has no JSON form`);
  }
}

/** PostgreSQL text cannot hold U+0000 (escaped or not), nor an unpaired UTF-16 surrogate. */
function checkString(value: string, path: string): void {
  if (value.includes('\u0000')) {
    throw refused(path, 'PostgreSQL cannot store the character U+0000 (NUL)');
  }
  if (hasLoneSurrogate(value)) {
    throw refused(path, 'it holds an unpaired UTF-16 surrogate, which is not valid Unicode text');
  }
}

function checkObject(value: object | null, path: string, ancestors: Set<object>): void {
  if (value === null) {
    return;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw refused(path, 'an invalid Date has no JSON form');
    }
    return;
  }
  if (ancestors.has(value)) {
    throw refused(path, 'it refers to itself (a cycle)');
  }
  ancestors.add(value);
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      if (!(index in value)) {
        throw refused(`${path}[${index}]`, 'a hole in an array would become null');
      }
      check(value[index], `${path}[${index}]`, ancestors);
    }
  } else {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== Object.prototype && prototype !== null) {
      throw refused(path, `a ${value.constructor?.name ?? 'non-plain'} object would lose its type in JSON`);
    }
    for (const [key, item] of Object.entries(value)) {
      checkString(key, `${path}.${key}`);
      check(item, `${path}.${key}`, ancestors);
    }
  }
  ancestors.delete(value);
}

function refused(path: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path} cannot be stored as JSON: ${problem}`, { path });
}

const UNSERIALIZABLE = [Map, Set, WeakMap, WeakSet, Promise, RegExp] as const;

/**
 * Refuses, in an instance about to go through class-transformer, what it would silently turn into
 * something else: functions (it would call them), maps and sets, cycles (it would overflow the
 * stack). Class instances, dates and bigints are its to convert; the plain result is checked next
 * with {@link assertJsonPayload}.
 */
export function assertTransformableInstance(value: unknown, path: string, ancestors = new Set<object>()): void {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw refused(path, `${typeof value} has no JSON form`);
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) {
    return;
  }
  if (UNSERIALIZABLE.some((type) => value instanceof type)) {
    throw refused(path, `a ${value.constructor.name} would lose its contents or type in JSON`);
  }
  if (ancestors.has(value)) {
    throw refused(path, 'it refers to itself (a cycle)');
  }
  ancestors.add(value);
  for (const [key, item] of Object.entries(value)) {
    assertTransformableInstance(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, ancestors);
  }
  ancestors.delete(value);
}
