/**
 * Named expected versions for `appendToStream`, `deleteStream` and `setStreamMetadata`.
 *
 * @example
 * await store.appendToStream('game-42', ExpectedVersion.NoStream, [started]);
 */
export const ExpectedVersion = {
  /** No check: append whatever the stream's version (it must not be soft-deleted). */
  Any: 'any',
  /** The stream must not exist yet (same as `0`). */
  NoStream: 'no_stream',
  /** The stream must exist, at any version. */
  StreamExists: 'stream_exists',
} as const;

/** `'any' | 'no_stream' | 'stream_exists'`, or the exact version `n >= 0` (0 = no stream). */
export type ExpectedVersion = (typeof ExpectedVersion)[keyof typeof ExpectedVersion] | number;
