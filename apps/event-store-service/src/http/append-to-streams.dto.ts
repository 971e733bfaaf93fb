import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { AppendCondition, EventData, ExpectedVersion, StreamAppend } from '@game-bot/event-store';
import type { AppendConditionDto } from './append-condition.dto.js';
import {
  assertNoProblems,
  CONDITION_PROPERTY,
  ExpectedVersionProperty,
  expectedVersionProblems,
  NewEventDto,
  objectOf,
  type FieldProblem,
} from './append-events.dto.js';

const ENTRIES =
  "One entry per stream (a stream at most once), 1 to `EVENT_STORE_MAX_APPEND_EVENTS`, written in one transaction: every entry's events, or none of them. A failed check names its stream in `details.streamId`. The events of all entries count together against `EVENT_STORE_MAX_APPEND_EVENTS`.";
const ENTRY_EVENTS =
  'The events to append to this stream, in this order, with consecutive versions. Absent or empty: the entry only checks that the stream is at `expectedVersion` (a read this decision was made on still holds).';

/** One stream of `POST /append`, for the OpenAPI document only (the store checks it). */
@ApiSchema({ name: 'StreamAppend', description: 'One stream of a multi-stream append: its expected version and its events, if any.' })
export class StreamAppendDto implements StreamAppend {
  @ApiProperty({
    minLength: 1,
    maxLength: 200,
    description: 'The stream: 1 to 200 characters, no control characters, not `$all`.',
    example: 'game-42',
  })
  streamId!: string;

  @ExpectedVersionProperty(7)
  expectedVersion!: ExpectedVersion;

  @ApiPropertyOptional({
    type: () => NewEventDto,
    isArray: true,
    description: ENTRY_EVENTS,
    example: [{ eventType: 'GameWon', data: { by: 'p1' } }],
  })
  events?: EventData[];
}

/** Body of `POST /append`. */
@ApiSchema({ name: 'AppendToStreams', description: 'Appends to several streams atomically: all of the events, or none.' })
export class AppendToStreamsDto {
  @ApiProperty({
    type: () => StreamAppendDto,
    isArray: true,
    minItems: 1,
    description: ENTRIES,
    example: [
      { streamId: 'game-42', expectedVersion: 7, events: [{ eventType: 'GameWon', data: { by: 'p1' } }] },
      { streamId: 'player-p1', expectedVersion: 'any', events: [{ eventType: 'GameWonBy', data: { game: 42 } }] },
    ],
  })
  streams!: StreamAppend[];

  @ApiPropertyOptional(CONDITION_PROPERTY)
  condition?: AppendConditionDto;
}

/** The body of `POST /append` as the route takes it: checked by {@link AppendToStreamsPipe}, not copied. */
export interface AppendToStreamsBody {
  streams: StreamAppend[];
  condition?: AppendCondition;
}

/**
 * Checks the envelope of a multi-stream append (`streams` a non-empty array of objects, each with
 * an `expectedVersion` and, if any, an array of `events`), naming the fields as the body does,
 * and passes the body on as it came: the store checks the rest, as for a single append.
 */
@Injectable()
export class AppendToStreamsPipe implements PipeTransform<unknown, AppendToStreamsBody> {
  transform(value: unknown): AppendToStreamsBody {
    const body = objectOf(value);
    assertNoProblems(streamsProblems(body.streams));
    return body as unknown as AppendToStreamsBody;
  }
}

function streamsProblems(streams: unknown): FieldProblem[] {
  if (!Array.isArray(streams)) return [{ property: 'streams', constraints: { isArray: 'streams must be an array' } }];
  if (streams.length === 0) return [{ property: 'streams', constraints: { arrayNotEmpty: 'An append needs at least one stream' } }];
  return streams.flatMap((entry: unknown, index) => entryProblems(entry, `streams[${index}]`));
}

function entryProblems(entry: unknown, at: string): FieldProblem[] {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return [{ property: at, constraints: { isObject: `${at} must be an object { streamId, expectedVersion, events? }` } }];
  }
  const { events } = entry as { events?: unknown };
  const eventsProblem: FieldProblem[] =
    events === undefined || Array.isArray(events)
      ? []
      : [{ property: `${at}.events`, constraints: { isArray: `${at}.events must be an array` } }];
  return [...expectedVersionProblems(entry, `${at}.`), ...eventsProblem];
}
