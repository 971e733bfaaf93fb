import type { JsonObject } from './event-data.js';

/** What the store knows of one stream. */
export interface StreamInfo {
  streamId: string;
  /** The version of its last event; 0 when it has none. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
  /** `true` once soft-deleted. */
  deleted: boolean;
  metadata: JsonObject;
}

/** Paging of `listStreams`. */
export interface ListStreamsOptions {
  /** Only streams whose id starts with this. */
  prefix?: string;
  /** Only streams whose id sorts after this one (the previous page's `nextAfter`). */
  after?: string;
  /** Most streams to return. Default: the store's `defaultPageSize` (1000). */
  limit?: number;
}

/** A page of streams, sorted by id (byte order). */
export interface ListStreamsResult {
  streams: StreamInfo[];
  /** Pass as `after` for the next page; `null` when this page is the last. */
  nextAfter: string | null;
}
