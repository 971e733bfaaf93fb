import { Body, Controller, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EventStore, type MultiStreamAppendResult } from '@game-bot/event-store';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { ApiErrorResponse, ApiStoreErrorResponses, MultiStreamAppendResultModel } from './api-models.js';
import { AppendToStreamsDto, AppendToStreamsPipe, type AppendToStreamsBody } from './append-to-streams.dto.js';

const APPEND_TO_STREAMS =
  "One atomic write to several streams: every entry's events are stored, or none. Each entry's stream must be at its `expectedVersion`; an entry without events only checks that. A failed check names its stream (`details.streamId`). Re-sending the same body (with the same event ids) answers 201 again and stores nothing twice. With a `condition`, nothing is written if an event matching it is stored after `condition.after`. Needs the `write` role.";
const BAD_REQUEST =
  '`streams` missing, empty or too large; an entry that is not an object, without `expectedVersion`, with a bad stream id, or naming a stream another entry names; an event refused as in `POST /streams/{streamId}/events` (bad id, type, data, tag), or one event id twice; a malformed `condition`, or one with an item that names neither `eventTypes` nor `tags`; malformed JSON; or an event type that is not registered while the store refuses unregistered types.';

/** Appends to several streams at once: `POST /append`. */
@ApiTags('streams')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('append')
export class AppendController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** Appends to every stream of `streams` in one transaction: 201 `{ streams: [<result per entry>] }`. */
  @ApiOperation({ summary: 'Append to several streams atomically', description: APPEND_TO_STREAMS })
  @ApiBody({ type: AppendToStreamsDto, required: true })
  @ApiCreatedResponse({
    type: MultiStreamAppendResultModel,
    description: 'Every entry is written: one result per entry, in the order given (also the answer to an idempotent re-send).',
  })
  @ApiErrorResponse(400, BAD_REQUEST, 'INVALID_ARGUMENT', 'UNKNOWN_EVENT_TYPE')
  @ApiErrorResponse(403, 'The token has the `read` role: this route needs `write`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'An entry expects `stream_exists` and its stream has no events (`details.streamId`).', 'STREAM_NOT_FOUND')
  @ApiErrorResponse(
    409,
    "A stream is not at its entry's `expectedVersion` (`details.streamId`, `details.actualVersion`); or an event id is already stored elsewhere or with other content; or the `condition` matched stored events (`details.conflictingPositions`). Nothing is written.",
    'WRONG_EXPECTED_VERSION',
    'DUPLICATE_EVENT',
    'APPEND_CONDITION_FAILED',
  )
  @ApiErrorResponse(410, "An entry's stream is soft-deleted (`details.streamId`).", 'STREAM_DELETED')
  @ApiErrorResponse(
    422,
    'The payload of a registered event type fails its validation, or its `schemaVersion` is not one the type knows.',
    'EVENT_VALIDATION_FAILED',
    'UNSUPPORTED_SCHEMA_VERSION',
  )
  @RequiresRole('write')
  @Post()
  async append(@Body(AppendToStreamsPipe) body: AppendToStreamsBody): Promise<MultiStreamAppendResult> {
    return this.store.appendToStreams(body.streams, { condition: body.condition });
  }
}
