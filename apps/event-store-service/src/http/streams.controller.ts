import { Body, Controller, Delete, Get, Head, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { EVENT_STORE_OPTIONS, EventStore, type ExpectedVersion, type JsonObject } from '@game-bot/event-store';
import type { ResolvedEventStoreOptions } from '@game-bot/event-store/internal';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import {
  ApiErrorResponse,
  ApiStoreErrorResponses,
  AppendResultModel,
  StreamAppendResultModel,
  StreamEventsPageModel,
  StreamInfoModel,
  StreamListModel,
} from './api-models.js';
import { AppendEventsDto, AppendEventsPipe, type AppendEventsBody } from './append-events.dto.js';
import { eventView, streamView, versionInStream } from './event.view.js';
import { LinkEventsDto, LinkEventsPipe, type LinkEventsBody } from './link-events.dto.js';
import { DeleteStreamQuery, ListStreamsQuery, pageLimit, ReadStreamQuery } from './read-queries.js';

/** PUT metadata: what the body does, retention keys included (docs/retention.md). */
const SET_METADATA_DESCRIPTION =
  'The body, a JSON object, becomes the whole metadata of the stream. Its retention keys, `$maxAge` (seconds), `$maxCount` (events) and `$truncateBefore` (a version), integers >= 1, bound what reads and subscriptions of the stream return from then on; the scavenger deletes the rest later. Needs the `write` role.';

const METADATA_SCHEMA = {
  type: 'object',
  additionalProperties: true,
  description: "The stream's metadata: any JSON object.",
  example: { owner: 'bot-7' },
} as const;

const APPEND =
  'Appends the events atomically if the stream is at `expectedVersion`, creating the stream if needed; with a `condition`, only if no event matching it is stored after `condition.after`. Needs the `write` role.';
const LINK =
  'Adds stored events (by id) to this stream, after its last version, if it is at `expectedVersion` (the rules of appends), atomically: each link takes a version of its own here. The events keep their stream, version and global position; `$all` holds each of them once; a read of this stream returns them with `link` set. Re-sending the same links answers 201 again and links nothing twice. Needs the `write` role.';
const CONFLICT_409 =
  'The stream is not at `expectedVersion` (`details.actualVersion` says where it is); or an event id is already stored elsewhere or with other content; or the `condition` matched stored events (`details.conflictingPositions`).';

/** Documents the `streamId` path parameter. */
const StreamIdParam = () =>
  ApiParam({
    name: 'streamId',
    description: 'The stream id: 1 to 200 characters, no control characters, not `$all`. URL-encode it.',
    example: 'game-42',
  });

/** Streams over HTTP: each route is one call of the library. */
@ApiTags('streams')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('streams')
export class StreamsController {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
  ) {}

  /** Appends events: 201 `{ streamId, fromVersion, toVersion, firstPosition, lastPosition }`. */
  @ApiOperation({ summary: 'Append events to a stream', description: APPEND })
  @StreamIdParam()
  @ApiBody({ type: AppendEventsDto, required: true })
  @ApiCreatedResponse({
    type: AppendResultModel,
    description: 'The events are stored: their versions and global positions (also the answer to an idempotent re-send).',
  })
  @ApiErrorResponse(
    400,
    'Bad stream id, body or `expectedVersion` (missing, or not one of the allowed values); no events or too many; an event without `eventType` or with `data` that is not a JSON object, or with a malformed id or tag; a malformed `condition`, or one with an item that names neither `eventTypes` nor `tags`; malformed JSON, or a body larger than HTTP_BODY_LIMIT_BYTES; or an event type that is not registered while the store refuses unregistered types.',
    'INVALID_ARGUMENT',
    'UNKNOWN_EVENT_TYPE',
  )
  @ApiErrorResponse(403, 'The token has the `read` role: this route needs `write`.', 'FORBIDDEN')
  @ApiErrorResponse(404, '`expectedVersion` is `stream_exists` and the stream has no events.', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(409, CONFLICT_409, 'WRONG_EXPECTED_VERSION', 'DUPLICATE_EVENT', 'APPEND_CONDITION_FAILED')
  @ApiErrorResponse(410, 'The stream is soft-deleted: hard-delete it to reuse its id.', 'STREAM_DELETED')
  @ApiErrorResponse(
    422,
    'The payload of a registered event type fails its validation, or its `schemaVersion` is not one the type knows.',
    'EVENT_VALIDATION_FAILED',
    'UNSUPPORTED_SCHEMA_VERSION',
  )
  @RequiresRole('write')
  @Post(':streamId/events')
  async append(@Param('streamId') streamId: string, @Body(AppendEventsPipe) body: AppendEventsBody): Promise<object> {
    return this.store.appendToStream(streamId, body.expectedVersion, body.events, { condition: body.condition });
  }

  /** Links stored events into the stream: 201 `{ streamId, fromVersion, toVersion, firstPosition: null, lastPosition: null }`. */
  @ApiOperation({ summary: 'Link stored events into a stream', description: LINK })
  @StreamIdParam()
  @ApiBody({ type: LinkEventsDto, required: true })
  @ApiCreatedResponse({
    type: StreamAppendResultModel,
    description: "The events are linked: the links' versions in this stream (positions `null`); also the answer to an idempotent re-send.",
  })
  @ApiErrorResponse(
    400,
    'Bad stream id, body or `expectedVersion`; `eventIds` missing, empty, too many, repeated, not UUIDs, or naming an event that is not stored; a malformed `condition`; malformed JSON.',
    'INVALID_ARGUMENT',
  )
  @ApiErrorResponse(403, 'The token has the `read` role: this route needs `write`.', 'FORBIDDEN')
  @ApiErrorResponse(404, '`expectedVersion` is `stream_exists` and the stream has no events.', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(
    409,
    'The stream is not at `expectedVersion`; or an event is linked into this stream already at another place; or the `condition` matched stored events (`details.conflictingPositions`).',
    'WRONG_EXPECTED_VERSION',
    'DUPLICATE_EVENT',
    'APPEND_CONDITION_FAILED',
  )
  @ApiErrorResponse(410, 'The stream is soft-deleted: hard-delete it to reuse its id.', 'STREAM_DELETED')
  @RequiresRole('write')
  @Post(':streamId/links')
  async link(@Param('streamId') streamId: string, @Body(LinkEventsPipe) body: LinkEventsBody): Promise<object> {
    return this.store.linkToStream(streamId, body.expectedVersion, body.eventIds, { condition: body.condition });
  }

  /** A page of a stream: `{ streamId, events, nextFromVersion }`; forward from version 1 by default. */
  @ApiOperation({
    summary: "Read a page of a stream's events",
    description:
      'Forward from version 1 by default, or backward from the last event; `nextFromVersion` continues the read. Needs the `read` role.',
  })
  @StreamIdParam()
  @ApiOkResponse({ type: StreamEventsPageModel, description: 'A page of the stream.' })
  @ApiErrorResponse(
    400,
    'Bad stream id or query (`direction`, `limit`, `fromVersion`), or a stored event of a type that is not registered while the store refuses unregistered types.',
    'INVALID_ARGUMENT',
    'UNKNOWN_EVENT_TYPE',
  )
  @ApiErrorResponse(404, 'The stream has no events.', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(410, 'The stream is soft-deleted.', 'STREAM_DELETED')
  @ApiErrorResponse(
    422,
    "A stored event's schema version is unknown to its registered type, or it fails validation once upcast.",
    'UNSUPPORTED_SCHEMA_VERSION',
    'EVENT_VALIDATION_FAILED',
  )
  @ApiErrorResponse(
    500,
    'A stored event cannot be read as its registered type (or its upcasting failed); or an unexpected failure.',
    'CORRUPTED_EVENT',
    'INTERNAL',
  )
  @RequiresRole('read')
  @Get(':streamId/events')
  async read(@Param('streamId') streamId: string, @Query() query: ReadStreamQuery): Promise<object> {
    const options = { fromVersion: query.fromVersion, maxCount: pageLimit(query.limit, this.options.maxPageSize) };
    const forward = query.direction !== 'backward';
    const events = forward ? await this.store.readStreamForward(streamId, options) : await this.store.readStreamBackward(streamId, options);
    const last = events.at(-1);
    const full = query.limit === undefined ? false : events.length === query.limit;
    // The versions of this stream: a linked event's own `streamVersion` is its place in its original stream.
    const next = last === undefined ? null : forward ? versionInStream(last) + 1 : versionInStream(last) - 1;
    return { streamId, events: events.map(eventView), nextFromVersion: full && next !== null && next >= 1 ? next : null };
  }

  /**
   * 200 when the stream exists, 404 otherwise (no body). Declared before the GET of the same path,
   * so that Fastify keeps it instead of deriving a HEAD from that GET.
   */
  @ApiOperation({
    summary: 'Whether a stream exists',
    description:
      'The status alone, without a body: 200 when the stream has events (soft-deleted included), 404 when not. Needs the `read` role.',
  })
  @StreamIdParam()
  @ApiOkResponse({ description: 'The stream exists (no body).' })
  @ApiResponse({ status: 400, description: 'Bad stream id (no body: `INVALID_ARGUMENT`).' })
  @ApiResponse({ status: 404, description: 'The stream has no events (no body: `STREAM_NOT_FOUND`).' })
  @RequiresRole('read')
  @Head(':streamId')
  async exists(@Param('streamId') streamId: string): Promise<void> {
    await this.store.streamInfo(streamId);
  }

  /** Stream info: `{ streamId, version, createdAt, updatedAt, deleted, metadata }`. */
  @ApiOperation({
    summary: "A stream's info",
    description:
      'Version, timestamps, deletion flag and metadata; a soft-deleted stream answers 200 with `deleted: true`. Needs the `read` role.',
  })
  @StreamIdParam()
  @ApiOkResponse({ type: StreamInfoModel, description: "The stream's info." })
  @ApiErrorResponse(400, 'Bad stream id.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(404, 'The stream has no events (never written, or hard-deleted).', 'STREAM_NOT_FOUND')
  @RequiresRole('read')
  @Get(':streamId')
  async info(@Param('streamId') streamId: string): Promise<object> {
    return streamView(await this.store.streamInfo(streamId));
  }

  /** Deletes a stream (`mode=soft|hard`, `expectedVersion`): 204. */
  @ApiOperation({
    summary: 'Delete a stream',
    description:
      '`soft` (default) keeps its events in `$all` and refuses further reads and appends; `hard` removes the stream and its events and frees its id. Needs the `admin` role.',
  })
  @StreamIdParam()
  @ApiNoContentResponse({ description: 'The stream is deleted.' })
  @ApiErrorResponse(400, 'Bad stream id, `mode` or `expectedVersion`.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(403, 'The token has the `read` or `write` role: this route needs `admin`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'The stream has no events.', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(409, 'The stream is not at `expectedVersion`.', 'WRONG_EXPECTED_VERSION')
  @ApiErrorResponse(410, 'A soft delete of a stream that is already soft-deleted.', 'STREAM_DELETED')
  @RequiresRole('admin')
  @Delete(':streamId')
  @HttpCode(204)
  async remove(@Param('streamId') streamId: string, @Query() query: DeleteStreamQuery): Promise<void> {
    await this.store.deleteStream(streamId, query.expectedVersion as ExpectedVersion, { mode: query.mode });
  }

  /** The stream's metadata. */
  @ApiOperation({ summary: "A stream's metadata", description: 'The JSON object set with PUT (`{}` until then). Needs the `read` role.' })
  @StreamIdParam()
  @ApiOkResponse({ schema: METADATA_SCHEMA, description: "The stream's metadata." })
  @ApiErrorResponse(400, 'Bad stream id.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(404, 'The stream has no events.', 'STREAM_NOT_FOUND')
  @RequiresRole('read')
  @Get(':streamId/metadata')
  async metadata(@Param('streamId') streamId: string): Promise<object> {
    return this.store.getStreamMetadata(streamId);
  }

  /** Replaces the stream's metadata; the body is the new metadata object. */
  @ApiOperation({
    summary: "Replace a stream's metadata",
    description: SET_METADATA_DESCRIPTION,
  })
  @StreamIdParam()
  @ApiBody({ schema: METADATA_SCHEMA, description: 'The new metadata: a JSON object.' })
  @ApiOkResponse({ schema: METADATA_SCHEMA, description: 'The metadata stored: the body.' })
  @ApiErrorResponse(
    400,
    'Bad stream id, a body that is not a JSON object, malformed JSON, or a retention key that is not an integer >= 1.',
    'INVALID_ARGUMENT',
  )
  @ApiErrorResponse(403, 'The token has the `read` role: this route needs `write`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'The stream has no events.', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(410, 'The stream is soft-deleted.', 'STREAM_DELETED')
  @RequiresRole('write')
  @Put(':streamId/metadata')
  async setMetadata(@Param('streamId') streamId: string, @Body() body: JsonObject): Promise<object> {
    await this.store.setStreamMetadata(streamId, body); // the store refuses anything but a JSON object
    return body;
  }

  /** Streams by id, paged: `{ streams, nextAfter }`. */
  @ApiOperation({
    summary: 'List streams',
    description:
      'Streams sorted by id, optionally those whose id starts with `prefix`; `nextAfter` continues the listing. Needs the `read` role.',
  })
  @ApiOkResponse({ type: StreamListModel, description: 'A page of streams.' })
  @ApiErrorResponse(400, 'Bad `prefix`, `after` or `limit`.', 'INVALID_ARGUMENT')
  @RequiresRole('read')
  @Get()
  async list(@Query() query: ListStreamsQuery): Promise<object> {
    const page = await this.store.listStreams({ prefix: query.prefix, after: query.after, limit: query.limit });
    return { streams: page.streams.map(streamView), nextAfter: page.nextAfter };
  }
}
