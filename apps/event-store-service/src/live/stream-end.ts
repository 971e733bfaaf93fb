import { EventStore, StreamNotFoundError } from '../../../../libs/event-store/src/index.js';

/**
 * Where "from the end" starts, as a number, read now: the global position of the last event
 * `$all` shows, or the stream's version (0 for a stream yet to be created). Resolving `end` before
 * answering means an event appended right after the answer is always delivered.
 */
export async function currentEnd(store: EventStore, streamId: string): Promise<number> {
  if (streamId === '$all') {
    return (await store.readAllBackward({ maxCount: 1 })).events[0]?.globalPosition ?? 0;
  }
  try {
    return (await store.streamInfo(streamId)).version;
  } catch (error) {
    if (error instanceof StreamNotFoundError) return 0;
    throw error;
  }
}
