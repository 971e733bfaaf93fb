import { SEALED_KEY } from '../erasure/personal-envelope.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { hasLoneSurrogate } from '../validation/stream-id.validation.js';

/**
 * How deep a JSON payload may nest objects and arrays: each event's data and metadata, and (over
 * HTTP) a whole request body. A game event needs a handful of levels; 64 leaves room for any
 * real document while keeping every walk of a payload (this check, class-transformer,
 * class-validator, `JSON.stringify`, PostgreSQL's parser) far from the stack's limit, which a few
 * thousand levels overflow (a 500 instead of a refusal). Counted from the payload itself: `{}` is
 * one level, `{ "a": [1] }` two.
 */
export const MAX_JSON_DEPTH = 64;

/** Longest path a depth refusal quotes: 64 levels of long keys would make an unreadable message. */
const MAX_PATH_SHOWN = 500;

/** What a walk does at each value. */
interface Visitor {
  /** Checks a value; returns it when it is an object or array whose members are walked next. */
  open(value: unknown, path: string): object | undefined;
  /** Calls `add` with each member of what `open` returned, last first (the walk stacks them). */
  members(container: object, path: string, add: (value: unknown, path: string) => void): void;
}

/**
 * Refuses a payload that JSON would silently alter, or PostgreSQL could not store (U+0000): `undefined`, functions, symbols, bigints,
 * NaN and Infinity, cycles, sparse arrays, and objects other than plain objects, arrays and valid
 * dates (a Map or a class instance would be stored as `{}` or lose its prototype); and one nested
 * more than {@link MAX_JSON_DEPTH} levels. Dates are stored as ISO-8601 strings.
 */
export function assertJsonPayload(value: unknown, path: string): void {
  walk(value, path, MAX_JSON_DEPTH, { open: checkValue, members: jsonMembers });
}

/**
 * Refuses a value (a parsed request body, say) that nests objects and arrays more than `maxDepth`
 * levels, or holds a cycle, naming where; checks nothing else. Call it first, before anything that
 * recurses (class-transformer, class-validator, `JSON.stringify`) walks the value.
 *
 * @example
 * assertJsonDepth(JSON.parse(body), 'body'); // InvalidArgumentError past 64 levels
 */
export function assertJsonDepth(value: unknown, path: string, maxDepth = MAX_JSON_DEPTH): void {
  walk(value, path, maxDepth, { open: (item) => (typeof item === 'object' && item !== null ? item : undefined), members: entries });
}

/**
 * Walks `value` depth first, in document order, with a stack of its own rather than by recursion
 * (a deep payload would overflow the call stack before reaching any limit); refuses a cycle, and
 * an object or array nested more than `maxDepth` levels. The stack is three parallel arrays, not
 * an object per value: appends check every payload, and this keeps the walk as fast as recursion.
 */
function walk(value: unknown, path: string, maxDepth: number, visitor: Visitor): void {
  const values: unknown[] = [value];
  const paths: string[] = [path];
  const levels: number[] = [0];
  // `ancestors[i]` is the object or array at level i + 1 on the way to the value in hand (entries
  // past its level are left over from earlier branches and never read).
  const ancestors: object[] = [];
  let membersLevel = 0;
  const add = (member: unknown, memberPath: string): void => {
    values.push(member);
    paths.push(memberPath);
    levels.push(membersLevel);
  };
  while (values.length > 0) {
    const itemPath = paths.pop()!;
    const level = levels.pop()!;
    const container = visitor.open(values.pop(), itemPath);
    if (container === undefined) {
      continue;
    }
    for (let index = 0; index < level; index++) {
      if (ancestors[index] === container) {
        throw refused(itemPath, 'it refers to itself (a cycle)');
      }
    }
    if (level >= maxDepth) {
      throw tooDeep(itemPath, maxDepth);
    }
    ancestors[level] = container;
    membersLevel = level + 1;
    visitor.members(container, itemPath, add);
  }
}

/** Checks one value; returns it when it is an object or array whose members are to be checked. */
function checkValue(value: unknown, path: string): object | undefined {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return undefined;
    case 'boolean':
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) {
        throw refused(path, `${value} is not a JSON number`);
      }
      return undefined;
    case 'bigint':
      throw refused(path, 'a bigint has no JSON form: store it as a string (typed events: @JsonBigInt())');
    case 'object':
      return checkObject(value, path);
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

/** `null` and valid dates are values; plain objects and arrays hold members; anything else is refused. */
function checkObject(value: object | null, path: string): object | undefined {
  if (value === null) {
    return undefined;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw refused(path, 'an invalid Date has no JSON form');
    }
    return undefined;
  }
  if (!Array.isArray(value)) {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype !== Object.prototype && prototype !== null) {
      throw refused(path, `a ${value.constructor?.name ?? 'non-plain'} object would lose its type in JSON`);
    }
  }
  return value;
}

/** The members of an array (refusing holes) or of a plain object (refusing keys PostgreSQL cannot store). */
function jsonMembers(container: object, path: string, add: (value: unknown, path: string) => void): void {
  if (Array.isArray(container)) {
    for (let index = container.length - 1; index >= 0; index--) {
      if (!(index in container)) {
        throw refused(`${path}[${index}]`, 'a hole in an array would become null');
      }
      add(container[index], `${path}[${index}]`);
    }
    return;
  }
  const keys = Object.keys(container);
  for (let index = keys.length - 1; index >= 0; index--) {
    const key = keys[index]!;
    checkString(key, `${path}.${key}`);
    if (key === SEALED_KEY) {
      // Reads open what is stored under this key as encrypted personal data: only the store writes it.
      throw refused(`${path}.${key}`, `the key '${SEALED_KEY}' is reserved for the store's encrypted personal data`);
    }
    add((container as Record<string, unknown>)[key], `${path}.${key}`);
  }
}

/** Every own enumerable member of an object or array, with its path. */
function entries(container: object, path: string, add: (value: unknown, path: string) => void): void {
  const array = Array.isArray(container);
  const keys = Object.keys(container);
  for (let index = keys.length - 1; index >= 0; index--) {
    const key = keys[index]!;
    add((container as Record<string, unknown>)[key], array ? `${path}[${key}]` : `${path}.${key}`);
  }
}

/** The refusal of the first object or array past the limit, at `path` (a long one shortened). */
function tooDeep(path: string, maxDepth: number): InvalidArgumentError {
  const at = path.length > MAX_PATH_SHOWN ? `${path.slice(0, MAX_PATH_SHOWN / 2)}…${path.slice(-MAX_PATH_SHOWN / 2)}` : path;
  return new InvalidArgumentError(
    `${at} is nested more than ${maxDepth} levels deep: JSON payloads may nest objects and arrays at most ${maxDepth} levels; flatten it`,
    { path: at, maxDepth },
  );
}

function refused(path: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${path} cannot be stored as JSON: ${problem}`, { path });
}

const UNSERIALIZABLE = [Map, Set, WeakMap, WeakSet, Promise, RegExp] as const;

/**
 * Refuses, in an instance about to go through class-transformer, what it would silently turn into
 * something else: functions (it would call them), maps and sets, cycles and nesting past
 * {@link MAX_JSON_DEPTH} levels (its recursion would overflow the stack). Class instances, dates
 * and bigints are its to convert; the plain result is checked next with {@link assertJsonPayload}.
 */
export function assertTransformableInstance(value: unknown, path: string): void {
  walk(value, path, MAX_JSON_DEPTH, { open: transformable, members: entries });
}

/** Refuses what class-transformer would mangle; returns an object whose members it will walk. */
function transformable(value: unknown, path: string): object | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw refused(path, `${typeof value} has no JSON form`);
  }
  if (typeof value !== 'object' || value === null || value instanceof Date) {
    return undefined;
  }
  if (UNSERIALIZABLE.some((type) => value instanceof type)) {
    throw refused(path, `a ${value.constructor.name} would lose its contents or type in JSON`);
  }
  return value;
}
