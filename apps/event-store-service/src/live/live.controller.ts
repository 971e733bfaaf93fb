import { applyDecorators, Controller, Get, Headers, Inject, Param, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventStore, InvalidArgumentError, StreamDeletedError, StreamNotFoundError, type StartFrom } from '@game-bot/event-store';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { ApiErrorResponse, ApiStoreErrorResponses } from '../http/api-models.js';
import { LiveEvents } from './live-events.service.js';
import { SubscribeAllQuery, SubscribeStreamQuery } from './subscribe-queries.js';

const SSE_FORMAT =
  'Catch-up, then live, with no gap and no duplicate at the switch. Each event is one SSE message: `id` (see below) and `data` (the event, as the reads return it). A comment line (`: heartbeat`) comes every SSE_HEARTBEAT_MS. Reconnect with `Last-Event-ID` to resume right after the last event received. The server ends a stream with a `close` event `{ code, message, details }`: `SLOW_CONSUMER` (the client read nothing for SSE_SLOW_CLIENT_TIMEOUT_MS with SSE_MAX_BUFFERED_BYTES waiting), `SHUTTING_DOWN`, or a store error code. Needs the `read` role.';

function LastEventIdHeader(): MethodDecorator {
  return ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The `id` of the last event received: the stream resumes right after it.',
  });
}

function EventStreamResponse(): MethodDecorator {
  return applyDecorators(
    ApiProduces('text/event-stream'),
    ApiOkResponse({
      description: 'An event stream (`text/event-stream`) that stays open.',
      content: {
        'text/event-stream': {
          schema: { type: 'string' },
          example: 'id: 7\ndata: {"eventId":"…","eventType":"GuessProcessed","streamVersion":7,…}\n\n',
        },
      },
    }),
  );
}

/**
 * Server-Sent Events of one stream and of `$all`: catch-up, then live. Each event is one SSE
 * message (`id`: its stream version or global position; `data`: the event as `GET` returns it);
 * a client that reconnects with `Last-Event-ID` resumes right after that event.
 */
@ApiTags('live')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller()
export class LiveController {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(LiveEvents) private readonly live: LiveEvents,
  ) {}

  /** The events of one stream; `fromVersion` (default 1) or `end`. A stream yet to be created is waited for. */
  @ApiOperation({
    summary: "Follow one stream's events (Server-Sent Events)",
    description: `${SSE_FORMAT} The SSE \`id\` is the version in this stream (a linked event's link version). A stream that does not exist yet is waited for.`,
  })
  @ApiParam({ name: 'streamId', description: 'The stream id (1 to 200 characters, no control characters).', example: 'game-42' })
  @LastEventIdHeader()
  @EventStreamResponse()
  @ApiErrorResponse(400, 'Bad stream id, `fromVersion` or `Last-Event-ID`.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(
    503,
    'Shutting down, or SSE_MAX_CONNECTIONS streams are open; or the database is unavailable.',
    'SHUTTING_DOWN',
    'TOO_MANY_STREAMS',
    'STORE_UNAVAILABLE',
  )
  @ApiErrorResponse(410, 'The stream is soft-deleted.', 'STREAM_DELETED')
  @RequiresRole('read')
  @Get('streams/:streamId/subscribe')
  async stream(
    @Param('streamId') streamId: string,
    @Query() query: SubscribeStreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() response: FastifyReply,
  ): Promise<void> {
    await this.assertNotDeleted(streamId);
    const fromVersion = query.fromVersion ?? 1;
    const startFrom = resumeAfter(lastEventId) ?? (fromVersion === 'end' ? await this.store.endOf(streamId) : fromVersion - 1);
    this.live.open(request, response, { streamId, startFrom });
  }

  /** The events of `$all` after `fromPosition` (default 0) or from the `end`, filtered by `eventTypes`, `streamPrefix` and `tags`. */
  @ApiOperation({
    summary: 'Follow $all (Server-Sent Events)',
    description: `${SSE_FORMAT} The SSE \`id\` is the global position (the \`$all\` cursor). Filter by \`eventTypes\`, \`streamPrefix\` and \`tags\` (every tag must be on the event).`,
  })
  @LastEventIdHeader()
  @EventStreamResponse()
  @ApiErrorResponse(400, 'Bad `fromPosition`, filter or `Last-Event-ID`.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(
    503,
    'Shutting down, or SSE_MAX_CONNECTIONS streams are open; or the database is unavailable.',
    'SHUTTING_DOWN',
    'TOO_MANY_STREAMS',
    'STORE_UNAVAILABLE',
  )
  @RequiresRole('read')
  @Get('all/subscribe')
  async all(
    @Query() query: SubscribeAllQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: FastifyRequest,
    @Res() response: FastifyReply,
  ): Promise<void> {
    const filter = { eventTypes: query.eventTypes, streamPrefix: query.streamPrefix, tags: query.tags }; // all absent: every event
    const fromPosition = query.fromPosition ?? 0;
    // `end` is read before the answer starts: an event appended once the client has its headers is sent.
    const startFrom = resumeAfter(lastEventId) ?? (fromPosition === 'end' ? await this.store.endOf('$all') : fromPosition);
    this.live.open(request, response, { streamId: '$all', startFrom, filter });
  }

  /** Refuses, as a plain error response, what would only fail once the event stream has started. */
  private async assertNotDeleted(streamId: string): Promise<void> {
    try {
      if ((await this.store.streamInfo(streamId)).deleted) {
        throw new StreamDeletedError(streamId);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
  }
}

/** The `startFrom` a `Last-Event-ID` header asks for: the id of the last event the client has. */
function resumeAfter(lastEventId: string | undefined): StartFrom | undefined {
  if (lastEventId === undefined || lastEventId === '') return undefined;
  if (!/^\d{1,15}$/.test(lastEventId.trim())) {
    throw new InvalidArgumentError(`Last-Event-ID must be the id of an event this service sent (an integer), got '${lastEventId}'`);
  }
  return Number(lastEventId.trim());
}
