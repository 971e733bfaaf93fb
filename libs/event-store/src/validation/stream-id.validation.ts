import { InvalidArgumentError } from '../errors/invalid-argument.error.js';

/** The id of the global stream; no ordinary stream may take it. */
export const ALL_STREAM_ID = '$all';
const MAX_LENGTH = 200;
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
// A UTF-16 surrogate without its pair: PostgreSQL would store it as U+FFFD, merging distinct ids.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `true` when a string holds a UTF-16 surrogate without its pair (not valid Unicode text). */
export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

/** Refuses anything but a string of 1 to 200 characters without control characters, other than `$all`. */
export function assertStreamId(streamId: unknown, name = 'streamId'): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_LENGTH) {
    throw new InvalidArgumentError(`${name} must be a string of 1 to ${MAX_LENGTH} characters`, { [name]: streamId });
  }
  if (CONTROL_CHARACTER.test(streamId) || hasLoneSurrogate(streamId)) {
    throw new InvalidArgumentError(`${name} must not contain control characters or unpaired surrogates`, { [name]: streamId });
  }
  if (streamId === ALL_STREAM_ID) {
    throw new InvalidArgumentError(`'${ALL_STREAM_ID}' is reserved for the global stream: read it with readAllForward`, {
      [name]: streamId,
    });
  }
}

/** Refuses a name (event type, snapshot type) that is empty, too long or holds control characters. */
export function assertName(value: unknown, name: string): asserts value is string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_LENGTH ||
    CONTROL_CHARACTER.test(value) ||
    hasLoneSurrogate(value)
  ) {
    throw new InvalidArgumentError(`${name} must be a string of 1 to ${MAX_LENGTH} characters without control characters`, {
      [name]: value,
    });
  }
}

/** A LIKE pattern matching ids that start with `prefix`, its wildcards escaped. */
export function likePrefix(prefix: unknown, name = 'prefix'): string {
  if (typeof prefix !== 'string' || prefix.length > MAX_LENGTH || hasLoneSurrogate(prefix)) {
    throw new InvalidArgumentError(`${name} must be a string of at most ${MAX_LENGTH} characters of valid text`, { [name]: prefix });
  }
  return `${prefix.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}
