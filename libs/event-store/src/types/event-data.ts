/** A JSON object: an event's payload or metadata. */
export type JsonObject = { [key: string]: unknown };

/**
 * An event to append. Only `eventType` and `data` are required.
 *
 * @example
 * { eventType: 'GuessProcessed', data: { guess: 'crane', score: 3 } }
 */
export interface EventData {
  /** UUID of the event, generated when absent. Re-sending the same ids makes a retry idempotent. */
  eventId?: string;
  /** The event's type name, e.g. `GuessProcessed`. */
  eventType: string;
  /** Version of the payload's shape. Default `1`. */
  schemaVersion?: number;
  /** The payload: a JSON object. */
  data: JsonObject;
  /** Free-form JSON metadata. Default `{}`. */
  metadata?: JsonObject;
  /** UUID of the event or command that caused this one. */
  causationId?: string;
  /** UUID shared by every event of one conversation or workflow. */
  correlationId?: string;
  /**
   * Labels for `$all` reads and append conditions across streams, e.g. `['guild:7', 'word:crane']`:
   * at most 20, each 1–200 characters without control characters, no repeats. Default none.
   */
  tags?: string[];
}

/**
 * An event as stored, with its place in its stream and in `$all`. `T` is the payload's type: a
 * registered event class is read back as an instance of that class.
 *
 * @example
 * const [started] = await store.readStreamForward<GameStarted>('game-42', { maxCount: 1 });
 */
export interface RecordedEvent<T extends object = JsonObject> {
  eventId: string;
  eventType: string;
  schemaVersion: number;
  data: T;
  metadata: JsonObject;
  causationId: string | null;
  correlationId: string | null;
  streamId: string;
  /** 1 for the first event of the stream. */
  streamVersion: number;
  /** Unique in the store and never reused; the `$all` cursor. */
  globalPosition: number;
  createdAt: Date;
  /** The event's tags, in the order given; absent when it has none. */
  tags?: string[];
  /**
   * Present when the event was read through a link (`linkToStream`) in another stream: its place
   * there. `streamId`, `streamVersion` and `globalPosition` above stay the event's own.
   */
  link?: EventLink;
}

/** Where a linked event stands in the stream it was linked into. */
export interface EventLink {
  /** The stream the event was linked into (the one being read). */
  streamId: string;
  /** The link's own version in that stream. */
  streamVersion: number;
  /** When the link was made. */
  linkedAt: Date;
}
