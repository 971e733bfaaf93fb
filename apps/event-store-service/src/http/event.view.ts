import type { RecordedEvent, StreamInfo } from '@game-bot/event-store';

/**
 * An event as the API returns it (reads, event streams, webhooks): numbers as JSON numbers, times
 * as ISO-8601; `tags` and `link` only when the event has them.
 */
export function eventView(event: RecordedEvent): Record<string, unknown> {
  const view: Record<string, unknown> = {
    eventId: event.eventId,
    eventType: event.eventType,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    causationId: event.causationId,
    correlationId: event.correlationId,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    globalPosition: event.globalPosition,
    createdAt: event.createdAt.toISOString(),
  };
  if (event.tags !== undefined) view.tags = event.tags;
  if (event.link !== undefined) {
    view.link = { streamId: event.link.streamId, streamVersion: event.link.streamVersion, linkedAt: event.link.linkedAt.toISOString() };
  }
  return view;
}

/**
 * An event's version in the stream it was read from: its link's version when it was read through
 * a link (its own `streamVersion` is its place in its original stream).
 */
export function versionInStream(event: RecordedEvent): number {
  return event.link?.streamVersion ?? event.streamVersion;
}

/** A stream's info as the API returns it. */
export function streamView(info: StreamInfo): Record<string, unknown> {
  return {
    streamId: info.streamId,
    version: info.version,
    createdAt: info.createdAt.toISOString(),
    updatedAt: info.updatedAt.toISOString(),
    deleted: info.deleted,
    metadata: info.metadata,
  };
}
