import type { ExpectedVersion } from './expected-version.js';

/** What `appendToStream` stored. */
export interface AppendResult {
  streamId: string;
  /** Version of the first event appended. */
  fromVersion: number;
  /** Version of the last event appended: the stream's version now. */
  toVersion: number;
  /** Global position of the first event appended. */
  firstPosition: number;
  /** Global position of the last event appended. */
  lastPosition: number;
}

/** Options of one append. */
export interface AppendOptions {
  /** Deadline of this append, retries included. Default: the store's `operationTimeoutMs`. */
  timeoutMs?: number;
}

/** Options of `deleteStream`. */
export interface DeleteStreamOptions {
  /** `soft` (default) keeps the events in `$all`; `hard` removes the stream and its events. */
  mode?: 'soft' | 'hard';
}

/** The expected version accepted by writes, re-exported for signatures. */
export type { ExpectedVersion };
