import { ArrayNotEmpty, IsArray, IsDefined } from 'class-validator';
import type { EventData, ExpectedVersion } from '../../../../libs/event-store/src/index.js';

/** Body of `POST /streams/{streamId}/events`; each event's fields are checked by the store itself. */
export class AppendEventsDto {
  /** `any`, `no_stream`, `stream_exists` or the stream's current version. */
  @IsDefined({ message: 'expectedVersion is required' })
  expectedVersion!: ExpectedVersion;

  /** `[{ eventId?, eventType, data, metadata?, schemaVersion?, causationId?, correlationId? }]`. */
  @IsArray({ message: 'events must be an array' })
  @ArrayNotEmpty({ message: 'An append needs at least one event' })
  events!: EventData[];
}
