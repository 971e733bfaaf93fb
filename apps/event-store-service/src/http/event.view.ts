import type { RecordedEvent, StreamInfo } from '@game-bot/event-store';

/** An event as the API returns it: numbers as JSON numbers, times as ISO-8601. */
export function eventView(event: RecordedEvent): Record<string, unknown> {
  return {
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
