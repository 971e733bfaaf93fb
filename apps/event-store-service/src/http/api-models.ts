import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse, ApiSchema, type SchemaObject } from '@nestjs/swagger';
import { EventStoreErrorCode, type AppendResult, type MultiStreamAppendResult, type StreamAppendResult } from '@game-bot/event-store';
import type { ErrorBody } from '@game-bot/event-store/http';

// Response models of the OpenAPI document. They only describe what the routes return (the routes
// build plain objects, see event.view.ts); nothing instantiates them at run time.

const JSON_OBJECT = { type: 'object', additionalProperties: true } as const;
const UUID_EXAMPLE = '0b1f8a5e-6c9d-4f3a-9b2e-7d4c5a6b8e90';
const TIME_EXAMPLE = '2026-11-27T09:30:00.000Z';

/** What `POST /streams/{streamId}/events` stored (201). */
@ApiSchema({ name: 'AppendResult', description: 'What an append stored: the versions and global positions of its first and last events.' })
export class AppendResultModel implements AppendResult {
  @ApiProperty({ description: 'The stream appended to.', example: 'game-42' })
  streamId!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Stream version of the first event appended (1 for the first event of a stream).',
    example: 1,
  })
  fromVersion!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: "Stream version of the last event appended: the stream's version right after this append.",
    example: 3,
  })
  toVersion!: number;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Global position (`$all`) of the first event appended.', example: 1041 })
  firstPosition!: number;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Global position (`$all`) of the last event appended.', example: 1043 })
  lastPosition!: number;
}

/** What one entry of `POST /append` did, or what `POST /streams/{streamId}/links` linked (201). */
@ApiSchema({
  name: 'StreamAppendResult',
  description:
    'What a write did to one stream: the versions it took there and the global positions of the events it stored. An entry without events (a version check) has `toVersion` the version checked, `fromVersion` = `toVersion + 1` and `null` positions; links take versions but no positions (the events keep theirs).',
})
export class StreamAppendResultModel implements StreamAppendResult {
  @ApiProperty({ description: 'The stream written.', example: 'game-42' })
  streamId!: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Stream version of the first event (or link) written.', example: 8 })
  fromVersion!: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: "The stream's version right after the write.", example: 8 })
  toVersion!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    nullable: true,
    description: 'Global position of the first event stored; `null` when none was (a version check, links).',
    example: 1044,
  })
  firstPosition!: number | null;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    nullable: true,
    description: 'Global position of the last event stored; `null` when none was.',
    example: 1044,
  })
  lastPosition!: number | null;
}

/** What `POST /append` stored (201). */
@ApiSchema({ name: 'MultiStreamAppendResult', description: 'What a multi-stream append stored: one result per entry, in the order given.' })
export class MultiStreamAppendResultModel implements MultiStreamAppendResult {
  @ApiProperty({ type: () => StreamAppendResultModel, isArray: true, description: 'One result per entry of `streams`, in that order.' })
  streams!: StreamAppendResultModel[];
}

/** Where an event read through a link stands in the stream read. */
@ApiSchema({
  name: 'EventLink',
  description: "The link an event was read through: its place in the stream read. The event's own fields keep its original place.",
})
export class EventLinkModel {
  @ApiProperty({ description: 'The stream the event was linked into (the one read).', example: 'highlights-2026-12' })
  streamId!: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: "The link's version in that stream.", example: 3 })
  streamVersion!: number;

  @ApiProperty({ format: 'date-time', description: 'When the link was made (ISO-8601, UTC).', example: TIME_EXAMPLE })
  linkedAt!: string;
}

/** An event as the API returns it (see `eventView`). */
@ApiSchema({ name: 'RecordedEvent', description: 'A stored event, with its place in its stream and in `$all`.' })
export class RecordedEventModel {
  @ApiProperty({ format: 'uuid', description: 'The event id (lower-case UUID), given at append or generated.', example: UUID_EXAMPLE })
  eventId!: string;

  @ApiProperty({ description: "The event's type name.", example: 'GuessProcessed' })
  eventType!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: "Version of the payload's shape (after upcasting, for registered types).",
    example: 1,
  })
  schemaVersion!: number;

  @ApiProperty({ ...JSON_OBJECT, description: 'The payload: a JSON object.', example: { guess: 'crane', score: 2 } })
  data!: Record<string, unknown>;

  @ApiProperty({ ...JSON_OBJECT, description: 'Free-form JSON metadata (`{}` when none was given).', example: { botId: 'bot-7' } })
  metadata!: Record<string, unknown>;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description: 'UUID of the event or command that caused this one, or `null`.',
    example: null,
  })
  causationId!: string | null;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    nullable: true,
    description: 'UUID shared by every event of one conversation or workflow, or `null`.',
    example: null,
  })
  correlationId!: string | null;

  @ApiProperty({ description: 'The stream the event belongs to.', example: 'game-42' })
  streamId!: string;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'Version of the event in its stream: 1 for the first event.', example: 1 })
  streamVersion!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Position in `$all`: unique in the store, never reused; the `$all` cursor.',
    example: 1041,
  })
  globalPosition!: number;

  @ApiProperty({ format: 'date-time', description: 'When the event was stored (ISO-8601, UTC).', example: TIME_EXAMPLE })
  createdAt!: string;

  @ApiPropertyOptional({
    type: [String],
    description: "The event's tags, in the order given at append; absent when it has none.",
    example: ['guild:7', 'word:crane'],
  })
  tags?: string[];

  @ApiPropertyOptional({
    type: () => EventLinkModel,
    description:
      "Present when the event was read through a link in another stream (`POST /streams/{streamId}/links`): its place there. `streamId`, `streamVersion` and `globalPosition` stay the event's own.",
  })
  link?: EventLinkModel;
}

/** A page of one stream (`GET /streams/{streamId}/events`). */
@ApiSchema({ name: 'StreamEventsPage', description: 'A page of one stream, in the order asked for.' })
export class StreamEventsPageModel {
  @ApiProperty({ description: 'The stream read.', example: 'game-42' })
  streamId!: string;

  @ApiProperty({ type: () => RecordedEventModel, isArray: true, description: 'The events of the page, in the direction read.' })
  events!: RecordedEventModel[];

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    nullable: true,
    description:
      'Pass as `fromVersion` (same `direction`) for the next page; `null` when this page is the last (fewer events than `limit`, no `limit` given, or the start of the stream reached backward).',
    example: 101,
  })
  nextFromVersion!: number | null;
}

/** A page of `$all` (`GET /all/events`). */
@ApiSchema({ name: 'AllEventsPage', description: 'A page of `$all`, the global stream: every committed event in global-position order.' })
export class AllEventsPageModel {
  @ApiProperty({
    type: () => RecordedEventModel,
    isArray: true,
    description: 'The events of the page, in the direction read, after the filters.',
  })
  events!: RecordedEventModel[];

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    nullable: true,
    description:
      'The cursor: pass as `fromPosition` (same `direction` and filters) for the next page. Forward, it is never `null`: at the end of `$all` it stays where the read stopped, so polling with it returns new events as they are committed. Backward, `null` once the start is reached.',
    example: 1043,
  })
  nextFromPosition!: number | null;
}

/** What the store knows of one stream (see `streamView`). */
@ApiSchema({ name: 'StreamInfo', description: "A stream's version, timestamps, deletion flag and metadata." })
export class StreamInfoModel {
  @ApiProperty({ description: 'The stream id.', example: 'game-42' })
  streamId!: string;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'Version of its last event.', example: 3 })
  version!: number;

  @ApiProperty({ format: 'date-time', description: 'When its first event was stored (ISO-8601, UTC).', example: TIME_EXAMPLE })
  createdAt!: string;

  @ApiProperty({
    format: 'date-time',
    description: 'When it last changed: append, metadata or deletion (ISO-8601, UTC).',
    example: TIME_EXAMPLE,
  })
  updatedAt!: string;

  @ApiProperty({
    description: '`true` once soft-deleted: its events stay in `$all`, but reading or appending to it answers 410 `STREAM_DELETED`.',
    example: false,
  })
  deleted!: boolean;

  @ApiProperty({ ...JSON_OBJECT, description: "The stream's metadata (`{}` until set).", example: { owner: 'bot-7' } })
  metadata!: Record<string, unknown>;
}

/** A page of streams (`GET /streams`). */
@ApiSchema({ name: 'StreamList', description: 'A page of streams, sorted by id (byte order).' })
export class StreamListModel {
  @ApiProperty({ type: () => StreamInfoModel, isArray: true, description: 'The streams of the page, soft-deleted ones included.' })
  streams!: StreamInfoModel[];

  @ApiProperty({
    type: 'string',
    nullable: true,
    description: 'Pass as `after` for the next page; `null` when this page is the last.',
    example: 'game-43',
  })
  nextAfter!: string | null;
}

/** The body of every error response (see `error-body.ts` and the exception filter). */
@ApiSchema({ name: 'ErrorBody', description: 'The body of every error response of the service.' })
export class ErrorBodyModel implements ErrorBody {
  @ApiProperty({ type: 'integer', description: 'The HTTP status, repeated.', example: 409 })
  statusCode!: number;

  @ApiProperty({
    description:
      "Stable, machine-readable code: switch on it rather than on the message. The store's codes and their statuses: `INVALID_ARGUMENT` and `UNKNOWN_EVENT_TYPE` 400, `UNAUTHORIZED` 401, `FORBIDDEN` 403, `STREAM_NOT_FOUND` 404, `WRONG_EXPECTED_VERSION`, `DUPLICATE_EVENT` and `APPEND_CONDITION_FAILED` 409, `STREAM_DELETED` 410, `EVENT_VALIDATION_FAILED` and `UNSUPPORTED_SCHEMA_VERSION` 422, `CORRUPTED_EVENT` 500, `STORE_UNAVAILABLE` 503, `TIMEOUT` 504; the HTTP layer's own: `ROUTE_NOT_FOUND` and `EVENT_NOT_FOUND` 404, `INVALID_ARGUMENT` 400 (malformed body, or larger than HTTP_BODY_LIMIT_BYTES), `HTTP_ERROR` (any other status), `INTERNAL` 500; of webhook subscriptions: `SUBSCRIPTION_NOT_FOUND` 404, `SUBSCRIPTION_EXISTS` and `SUBSCRIPTION_NOT_STARTED` 409; `SHUTTING_DOWN` and `TOO_MANY_STREAMS` 503; ending an event stream (SSE `close` event): `SLOW_CONSUMER`, `SHUTTING_DOWN`.",
    example: 'WRONG_EXPECTED_VERSION',
  })
  code!: string;

  @ApiProperty({
    description: 'What went wrong and what to do about it, for people.',
    example: "Stream 'game-42' is at version 3, not at the expected 1: read the stream again and retry with its current version",
  })
  message!: string;

  @ApiProperty({
    ...JSON_OBJECT,
    description: 'Machine-readable facts about the failure, by code (e.g. `actualVersion`); `{}` when there are none.',
    example: { streamId: 'game-42', expectedVersion: 1, actualVersion: 3 },
  })
  details!: Record<string, unknown>;
}

/** One Terminus indicator: its status and its numbers. */
const INDICATOR: SchemaObject = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['up', 'down'] } },
  additionalProperties: true,
};
const INDICATORS_EXAMPLE = {
  database: { status: 'up', latencyMs: 1 },
  migrations: { status: 'up', pending: 0 },
  listener: { status: 'up', connected: true },
  allVisibility: { status: 'up', lagSeconds: 0, maxLagSeconds: 30 },
  subscriptions: { status: 'up', count: 2, maxLag: 0, failed: 0, dead: 0, maxAllowedLag: 10000, maxAllowedFailed: 100 },
};

/** Terminus's health report (`/health`, `/health/live`, `/health/ready`). */
@ApiSchema({ name: 'HealthReport', description: "Terminus's report: the overall status and each indicator with its numbers." })
export class HealthReportModel {
  @ApiProperty({
    enum: ['ok', 'error', 'shutting_down'],
    description: '`ok` (200) when every indicator is up, else `error` or `shutting_down` (503).',
    example: 'ok',
  })
  status!: 'ok' | 'error' | 'shutting_down';

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: INDICATOR,
    nullable: true,
    description: 'The indicators that are up, by name.',
    example: INDICATORS_EXAMPLE,
  })
  info?: Record<string, unknown> | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: INDICATOR,
    nullable: true,
    description: 'The indicators that are down, by name, with why.',
    example: {},
  })
  error?: Record<string, unknown> | null;

  @ApiProperty({ type: 'object', additionalProperties: INDICATOR, description: 'Every indicator, by name.', example: INDICATORS_EXAMPLE })
  details!: Record<string, unknown>;
}

/** Every `code` an error body can carry: the store's and the HTTP layer's own. */
export type ErrorCode =
  | EventStoreErrorCode
  | 'ROUTE_NOT_FOUND'
  | 'HTTP_ERROR'
  | 'INTERNAL'
  | 'SUBSCRIPTION_NOT_FOUND'
  | 'EVENT_NOT_FOUND'
  | 'SUBSCRIPTION_EXISTS'
  | 'SUBSCRIPTION_NOT_STARTED'
  | 'SHUTTING_DOWN'
  | 'TOO_MANY_STREAMS';

/** A typical body of each code, shown as the example of the responses that carry it. */
const EXAMPLES: Record<ErrorCode, Omit<ErrorBody, 'statusCode'>> = {
  [EventStoreErrorCode.WrongExpectedVersion]: {
    code: 'WRONG_EXPECTED_VERSION',
    message: "Stream 'game-42' is at version 3, not at the expected 1: read the stream again and retry with its current version",
    details: { streamId: 'game-42', expectedVersion: 1, actualVersion: 3 },
  },
  [EventStoreErrorCode.StreamNotFound]: {
    code: 'STREAM_NOT_FOUND',
    message: "Stream 'game-42' does not exist",
    details: { streamId: 'game-42' },
  },
  [EventStoreErrorCode.StreamDeleted]: {
    code: 'STREAM_DELETED',
    message: "Stream 'game-42' is deleted: hard-delete it to reuse its id",
    details: { streamId: 'game-42' },
  },
  [EventStoreErrorCode.DuplicateEvent]: {
    code: 'DUPLICATE_EVENT',
    message: `Event id ${UUID_EXAMPLE} is already stored elsewhere than this append to 'game-42': use a new event id`,
    details: { eventId: UUID_EXAMPLE, streamId: 'game-42' },
  },
  [EventStoreErrorCode.InvalidArgument]: {
    code: 'INVALID_ARGUMENT',
    message: 'expectedVersion is required',
    details: { fields: [{ property: 'expectedVersion', constraints: { isDefined: 'expectedVersion is required' } }] },
  },
  [EventStoreErrorCode.UnknownEventType]: {
    code: 'UNKNOWN_EVENT_TYPE',
    message: "Event type 'GuessProcessed' is not registered: register its class or allow unregistered types",
    details: { eventType: 'GuessProcessed' },
  },
  [EventStoreErrorCode.EventValidationFailed]: {
    code: 'EVENT_VALIDATION_FAILED',
    message: 'events[0] (GuessProcessed) fails validation: guess must be a string',
    details: {
      at: 'events[0]',
      eventType: 'GuessProcessed',
      fields: [{ property: 'guess', constraints: { isString: 'guess must be a string' } }],
    },
  },
  [EventStoreErrorCode.UnsupportedSchemaVersion]: {
    code: 'UNSUPPORTED_SCHEMA_VERSION',
    message:
      "Schema version 3 of event type 'GuessProcessed' is not supported (this code knows up to version 2): deploy the code that knows it, or register an upcaster",
    details: { eventType: 'GuessProcessed', schemaVersion: 3, latestVersion: 2 },
  },
  [EventStoreErrorCode.CorruptedEvent]: {
    code: 'CORRUPTED_EVENT',
    message: `Event ${UUID_EXAMPLE} (stream 'game-42' version 2, position 1042) is corrupted: upcasting it failed: …`,
    details: { eventId: UUID_EXAMPLE, streamId: 'game-42', streamVersion: 2, globalPosition: 1042, reason: 'upcasting it failed: …' },
  },
  [EventStoreErrorCode.Unauthorized]: { code: 'UNAUTHORIZED', message: 'Missing or invalid credentials: send a bearer token', details: {} },
  [EventStoreErrorCode.Forbidden]: {
    code: 'FORBIDDEN',
    message: "This operation needs the 'write' role; these credentials have 'read'",
    details: {},
  },
  [EventStoreErrorCode.StoreUnavailable]: {
    code: 'STORE_UNAVAILABLE',
    message:
      "The event store's database is unavailable (connect ECONNREFUSED 127.0.0.1:5432) after 5 attempt(s): check that PostgreSQL is running and reachable",
    details: {},
  },
  [EventStoreErrorCode.Timeout]: {
    code: 'TIMEOUT',
    message: 'The operation ran past its time limit: retry later, or raise the timeout',
    details: {},
  },
  [EventStoreErrorCode.AppendConditionFailed]: {
    code: 'APPEND_CONDITION_FAILED',
    message:
      "The append condition matched 1 event(s) after position 120 (first at 131): read them, decide again and retry with a newer 'after'",
    details: { conflictingPositions: [131], after: 120 },
  },
  ROUTE_NOT_FOUND: { code: 'ROUTE_NOT_FOUND', message: 'Cannot GET /no/such/route', details: {} },
  HTTP_ERROR: { code: 'HTTP_ERROR', message: 'Method Not Allowed', details: {} },
  INTERNAL: { code: 'INTERNAL', message: 'Internal error', details: {} },
  EVENT_NOT_FOUND: {
    code: 'EVENT_NOT_FOUND',
    message: 'No event has id 0b6a7c3e-58f4-4b9e-9c1e-2f0b7f6f3a11: never stored, or hard-deleted',
    details: { eventId: '0b6a7c3e-58f4-4b9e-9c1e-2f0b7f6f3a11' },
  },
  SUBSCRIPTION_NOT_FOUND: {
    code: 'SUBSCRIPTION_NOT_FOUND',
    message: "No webhook subscription named 'scores'",
    details: { name: 'scores' },
  },
  SUBSCRIPTION_NOT_STARTED: {
    code: 'SUBSCRIPTION_NOT_STARTED',
    message: "Webhook 'scores' has not started yet: retry in a moment",
    details: { name: 'scores' },
  },
  SHUTTING_DOWN: { code: 'SHUTTING_DOWN', message: 'The service is shutting down: reconnect to another instance', details: {} },
  TOO_MANY_STREAMS: {
    code: 'TOO_MANY_STREAMS',
    message: 'This instance serves 1000 event streams already (SSE_MAX_CONNECTIONS): retry later or elsewhere',
    details: { maxConnections: 1000 },
  },
  SUBSCRIPTION_EXISTS: {
    code: 'SUBSCRIPTION_EXISTS',
    message: "Subscription 'scores' exists: delete it first, or choose another name",
    details: { name: 'scores' },
  },
};

/**
 * Documents one error status of a route (or of every route of a controller): the `ErrorBody`
 * schema, the codes it carries there and an example body of each.
 *
 * @example
 * @ApiErrorResponse(409, 'The stream is not at `expectedVersion`', 'WRONG_EXPECTED_VERSION')
 */
export function ApiErrorResponse(status: number, description: string, ...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const examples = Object.fromEntries(codes.map((code) => [code, { summary: code, value: { statusCode: status, ...EXAMPLES[code] } }]));
  const named = codes.map((code) => `\`${code}\``).join(', ');
  return ApiResponse({ status, type: ErrorBodyModel, description: codes.length > 0 ? `${named}: ${description}` : description, examples });
}

/** The error statuses every store route can answer: no credentials, the unexpected, the database, the deadline. */
export function ApiStoreErrorResponses(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiErrorResponse(401, 'Access control is on (`EVENT_STORE_TOKENS`) and no known bearer token was sent.', 'UNAUTHORIZED'),
    ApiErrorResponse(500, 'An unexpected failure; the service logs it.', 'INTERNAL'),
    ApiErrorResponse(503, 'The database cannot be reached: retry later.', 'STORE_UNAVAILABLE'),
    ApiErrorResponse(504, 'The operation ran past its deadline: retry later.', 'TIMEOUT'),
  );
}
