import { DuplicateEventError } from '../errors/duplicate-event.error.js';
import type { RecordedEvent } from '../types/event-data.js';
import type { NewEventRecord } from '../validation/event-data.validation.js';
import { TRACEPARENT_METADATA_KEY } from './trace-metadata.js';

/**
 * Runs an append, and once more if it failed as `DUPLICATE_EVENT` while it carried trace metadata
 * of its own (`traced`): a re-send made with tracing on has a `$traceparent` of its own span,
 * which the stored events (written under another span, or with tracing off) do not, so their
 * metadata, and the checksums the re-send check compares, differ. The second try gives each event
 * the trace key as stored (`stored`, by id): a true re-send then succeeds as one, stores nothing;
 * anything else fails as before.
 */
export async function appendAllowingResentTrace<T>(
  records: NewEventRecord[],
  traced: boolean,
  stored: (eventId: string) => Promise<RecordedEvent | undefined>,
  append: (records: NewEventRecord[]) => Promise<T>,
): Promise<T> {
  try {
    return await append(records);
  } catch (error) {
    if (!traced || !(error instanceof DuplicateEventError)) throw error;
    const asStored = await withStoredTrace(records, stored);
    if (asStored === undefined) throw error;
    return append(asStored);
  }
}

/**
 * For an append inside a transaction, where a failed statement ends the transaction and no second
 * try is possible: the records as a re-send must carry them, when their events are stored already
 * (each one's `$traceparent` as stored), else as they are. One lookup for an append of new events.
 */
export async function beforeTracedAppendInTransaction(
  records: NewEventRecord[],
  traced: boolean,
  stored: (eventId: string) => Promise<RecordedEvent | undefined>,
): Promise<NewEventRecord[]> {
  if (!traced) return records;
  return (await withStoredTrace(records, stored)) ?? records;
}

/** `records` with each one's `$traceparent` as its stored event has it (none if it has none); `undefined` if one is not stored. */
async function withStoredTrace(
  records: NewEventRecord[],
  stored: (eventId: string) => Promise<RecordedEvent | undefined>,
): Promise<NewEventRecord[] | undefined> {
  const adjusted: NewEventRecord[] = [];
  for (const record of records) {
    const event = await stored(record.event_id);
    if (event === undefined) return undefined;
    const { [TRACEPARENT_METADATA_KEY]: ours, ...rest } = record.metadata;
    const theirs = event.metadata[TRACEPARENT_METADATA_KEY];
    // First, where the append put it (under the caller's own keys), so the JSON text is the stored one.
    const metadata = theirs === undefined ? rest : { [TRACEPARENT_METADATA_KEY]: theirs, ...rest };
    adjusted.push(ours === theirs ? record : { ...record, metadata });
  }
  return adjusted;
}
