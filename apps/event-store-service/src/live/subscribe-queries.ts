import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Min, ValidateIf } from 'class-validator';
import { EventTypesField, StreamPrefixField, TagsField } from '../http/read-queries.js';

const toCursor = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

/** An integer >= `min`, or `end` (only events appended from now on). */
function Cursor(name: string, min: number, description: string): PropertyDecorator {
  const message = `${name} must be an integer >= ${min} or 'end'`;
  return (target, key) => {
    // A string in the document: query values are strings, and a oneOf here would make an empty `Object` schema.
    ApiPropertyOptional({ type: 'string', pattern: '^([0-9]+|end)$', description, example: 'end' })(target, key);
    IsOptional()(target, key);
    Transform(toCursor)(target, key);
    ValidateIf((query: Record<string, unknown>) => query[key as string] !== 'end')(target, key);
    IsInt({ message })(target, key);
    Min(min, { message })(target, key);
  };
}

/** Query of `GET /streams/{streamId}/subscribe`. */
export class SubscribeStreamQuery {
  /** The first version to send (default 1: the whole stream), or `end`. */
  @Cursor(
    'fromVersion',
    1,
    'The first stream version to send (default 1: the whole stream), or `end` for new events only. `Last-Event-ID` wins over it.',
  )
  fromVersion?: number | 'end';
}

/** Query of `GET /all/subscribe`. */
export class SubscribeAllQuery {
  /** The `$all` cursor: events after this global position (default 0: from the start), or `end`. */
  @Cursor(
    'fromPosition',
    0,
    'The `$all` cursor: events after the event at this global position (default 0: from the start), or `end`. `Last-Event-ID` wins over it.',
  )
  fromPosition?: number | 'end';

  /** Comma-separated event types. */
  @EventTypesField()
  eventTypes?: string[];

  @StreamPrefixField()
  streamPrefix?: string;

  /** Comma-separated tags, all required. */
  @TagsField()
  tags?: string[];
}
