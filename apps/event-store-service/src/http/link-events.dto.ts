import { Injectable, type PipeTransform } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { AppendCondition, ExpectedVersion } from '@game-bot/event-store';
import type { AppendConditionDto } from './append-condition.dto.js';
import { assertNoProblems, CONDITION_PROPERTY, ExpectedVersionProperty, expectedVersionProblems, objectOf } from './append-events.dto.js';

const EVENT_IDS =
  "Ids of stored events, 1 to `EVENT_STORE_MAX_APPEND_EVENTS`, distinct: linked in this order after the stream's last version, each with a version of its own there. An id that is not stored is `INVALID_ARGUMENT` (400); an event linked into this stream before at another place is `DUPLICATE_EVENT` (409).";

/** Body of `POST /streams/{streamId}/links`, for the OpenAPI document (checked by {@link LinkEventsPipe} and the store). */
@ApiSchema({ name: 'LinkEvents', description: 'Stored events to link into a stream, and the version the stream must be at.' })
export class LinkEventsDto {
  @ExpectedVersionProperty('any')
  expectedVersion!: ExpectedVersion;

  @ApiProperty({
    type: 'string',
    format: 'uuid',
    isArray: true,
    minItems: 1,
    description: EVENT_IDS,
    example: ['0b1f8a5e-6c9d-4f3a-9b2e-7d4c5a6b8e90'],
  })
  eventIds!: string[];

  @ApiPropertyOptional(CONDITION_PROPERTY)
  condition?: AppendConditionDto;
}

/** The link body as the route takes it. */
export interface LinkEventsBody {
  expectedVersion: ExpectedVersion;
  eventIds: string[];
  condition?: AppendCondition;
}

/** Checks that `expectedVersion` and `eventIds` are there; the store checks their values. */
@Injectable()
export class LinkEventsPipe implements PipeTransform<unknown, LinkEventsBody> {
  transform(value: unknown): LinkEventsBody {
    const body = objectOf(value);
    const eventIds =
      body.eventIds === undefined || body.eventIds === null
        ? [{ property: 'eventIds', constraints: { isDefined: 'eventIds is required' } }]
        : [];
    assertNoProblems([...expectedVersionProblems(body), ...eventIds]);
    return body as unknown as LinkEventsBody;
  }
}
