import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Injectable, type PipeTransform } from '@nestjs/common';
import { InvalidArgumentError, type AppendCondition, type EventData, type ExpectedVersion } from '@game-bot/event-store';
import { AppendConditionDto } from './append-condition.dto.js';

const TAGS =
  'Labels for `$all` reads (`GET /all/events?tags=`) and append conditions across streams, e.g. `guild:7`: at most 20, each 1 to 200 characters without control characters, no repeats. A bad one is `INVALID_ARGUMENT` (400) naming it (`events[0].tags[1]`). Default none.';

/**
 * One event of an append, for the OpenAPI document only: the store checks each event itself
 * (so this class carries no validation and the body's events stay plain objects).
 */
@ApiSchema({ name: 'NewEvent', description: 'An event to append. Only `eventType` and `data` are required.' })
export class NewEventDto implements EventData {
  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'UUID of the event, generated when absent. Give ids to make retries safe: re-sending the same events with the same ids answers the original result and stores nothing; any other reuse of an id (another stream, other content) is `DUPLICATE_EVENT` (409).',
    example: '0b1f8a5e-6c9d-4f3a-9b2e-7d4c5a6b8e90',
  })
  eventId?: string;

  @ApiProperty({
    minLength: 1,
    maxLength: 200,
    description: "The event's type name (1 to 200 characters, no control characters).",
    example: 'GuessProcessed',
  })
  eventType!: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    default: 1,
    description:
      "Version of the payload's shape. Default `1` (for a registered type: its latest version); a version the registered type does not know is `UNSUPPORTED_SCHEMA_VERSION` (422).",
    example: 1,
  })
  schemaVersion?: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'The payload: a JSON object (not an array). A registered type validates it: `EVENT_VALIDATION_FAILED` (422) when it does not fit.',
    example: { guess: 'crane', score: 2 },
  })
  data!: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    default: {},
    description: 'Free-form JSON metadata. Default `{}`.',
    example: { botId: 'bot-7' },
  })
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'UUID of the event or command that caused this one.',
    example: '5d3c0e9a-1b2f-4c6d-8e7a-9f0b1c2d3e4f',
  })
  causationId?: string;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'UUID shared by every event of one conversation or workflow.',
    example: '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
  })
  correlationId?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 32, description: TAGS, example: ['guild:7', 'word:crane'] })
  tags?: string[];
}

/** Documents the `expectedVersion` of a write body: a name or the stream's current version. */
export function ExpectedVersionProperty(example: ExpectedVersion): PropertyDecorator {
  return ApiProperty({
    oneOf: [
      { type: 'string', enum: ['any', 'no_stream', 'stream_exists'] },
      { type: 'integer', minimum: 0 },
    ],
    description:
      'Optimistic concurrency check: `any` (no check; the stream must not be soft-deleted), `no_stream` (the stream must have no events, same as `0`), `stream_exists` (the stream must have events; else `STREAM_NOT_FOUND`, 404) or the exact current version `n >= 0`. A mismatch is `WRONG_EXPECTED_VERSION` (409), its `details.actualVersion` the version found.',
    example,
  });
}

/** The `condition` property of a write body. */
export const CONDITION_PROPERTY = {
  type: () => AppendConditionDto,
  description:
    'Optional: write only if no event matching the condition is stored after `condition.after`; else `APPEND_CONDITION_FAILED` (409).',
} as const;

/** Body of `POST /streams/{streamId}/events`; each event's fields are checked by the store itself. */
@ApiSchema({ name: 'AppendEvents', description: 'The events to append to one stream, atomically, and the version the stream must be at.' })
export class AppendEventsDto {
  /** `any`, `no_stream`, `stream_exists` or the stream's current version. */
  @ExpectedVersionProperty('no_stream')
  expectedVersion!: ExpectedVersion;

  /** `[{ eventId?, eventType, data, metadata?, schemaVersion?, causationId?, correlationId?, tags? }]`. */
  @ApiProperty({
    type: () => NewEventDto,
    isArray: true,
    minItems: 1,
    description:
      'The events, stored in this order with consecutive versions; all or none. At least one, at most `EVENT_STORE_MAX_APPEND_EVENTS` (10000 by default).',
    example: [{ eventType: 'GuessProcessed', data: { guess: 'crane', score: 2 } }],
  })
  events!: EventData[];

  @ApiPropertyOptional(CONDITION_PROPERTY)
  condition?: AppendConditionDto;
}

/** The append body as the route takes it: checked by {@link AppendEventsPipe}, not copied. */
export interface AppendEventsBody {
  expectedVersion: ExpectedVersion;
  events: EventData[];
  condition?: AppendCondition;
}

/**
 * Checks the envelope of an append body (`expectedVersion` present, `events` a non-empty array)
 * and passes the body on as it came. The store checks every event and the expected version
 * itself; the global ValidationPipe would also copy the whole body through class-transformer,
 * which was a tenth of the service's time per single-event append.
 */
@Injectable()
export class AppendEventsPipe implements PipeTransform<unknown, AppendEventsBody> {
  transform(value: unknown): AppendEventsBody {
    const body = objectOf(value) as Partial<AppendEventsBody>;
    assertNoProblems([...expectedVersionProblems(body), ...eventsProblems(body)]);
    return body as AppendEventsBody;
  }
}

/** A field of a body that fails a check, as `details.fields` lists it. */
export type FieldProblem = { property: string; constraints: Record<string, string> };

/** Refuses a body with problems: `INVALID_ARGUMENT` with every message and `details.fields`. */
export function assertNoProblems(fields: FieldProblem[]): void {
  if (fields.length > 0) {
    const message = fields.flatMap((field) => Object.values(field.constraints)).join('; ');
    throw new InvalidArgumentError(message, { fields });
  }
}

/** A JSON object of the body (or of a part of it), or `{}` for anything else. */
export function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `expectedVersion` must be present (the store checks its value); `at` prefixes the field's name. */
export function expectedVersionProblems(body: { expectedVersion?: unknown }, at = ''): FieldProblem[] {
  const property = `${at}expectedVersion`;
  return body.expectedVersion === undefined || body.expectedVersion === null
    ? [{ property, constraints: { isDefined: `${property} is required` } }]
    : [];
}

function eventsProblems(body: Partial<AppendEventsBody>): FieldProblem[] {
  if (!Array.isArray(body.events)) return [{ property: 'events', constraints: { isArray: 'events must be an array' } }];
  if (body.events.length === 0) return [{ property: 'events', constraints: { arrayNotEmpty: 'An append needs at least one event' } }];
  return [];
}
