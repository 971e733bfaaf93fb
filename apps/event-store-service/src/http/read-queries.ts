import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';
import { InvalidArgumentError } from '@game-bot/event-store';

/** Splits a comma-separated query value; a repeated parameter is already a list. */
const commaSeparated = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.split(',').filter(Boolean) : value);

const PAGE_SIZE_DESCRIPTION = 'Most items in the page: from 1 to `EVENT_STORE_MAX_PAGE_SIZE` (10000 by default). Default 1000.';

/** Direction and page size, shared by the paged reads. */
class PageQuery {
  @ApiPropertyOptional({
    enum: ['forward', 'backward'],
    default: 'forward',
    description: 'Read order: `forward` (oldest first) or `backward` (newest first).',
    example: 'forward',
  })
  @IsOptional()
  @IsIn(['forward', 'backward'], { message: 'direction must be forward or backward' })
  direction: 'forward' | 'backward' = 'forward';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 1000, description: PAGE_SIZE_DESCRIPTION, example: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1)
  limit?: number;
}

/**
 * The `limit` of a read, refused here when above the store's largest page (`maxPageSize`): the
 * store's own check names its option, `maxCount`, which an HTTP caller never sent.
 */
export function pageLimit(limit: number | undefined, maxPageSize: number): number | undefined {
  if (limit !== undefined && limit > maxPageSize) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${maxPageSize}, got ${limit}`, { limit });
  }
  return limit;
}

/** Query of `GET /streams/{streamId}/events`. */
export class ReadStreamQuery extends PageQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      "First stream version to return (inclusive). Forward default `1`; backward default: the stream's last event (backward needs `>= 1`). The `nextFromVersion` of a page continues after it.",
    example: 1,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'fromVersion must be an integer' })
  @Min(0)
  fromVersion?: number;
}

/** Query of `GET /all/events`. */
export class ReadAllQuery extends PageQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      "The cursor: the global position of the last event seen (a page's `nextFromPosition`); the read continues right after it in `$all` order. Forward default `0` (the start); backward default: the end.",
    example: 0,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'fromPosition must be an integer' })
  @Min(0)
  fromPosition?: number;

  /** Comma-separated event types. */
  @EventTypesField()
  eventTypes?: string[];

  @StreamPrefixField()
  streamPrefix?: string;

  /** Comma-separated tags, all required. */
  @TagsField()
  tags?: string[];
}

/** The `eventTypes` filter of `$all` (reads and event streams): comma-separated, or repeated. */
export function EventTypesField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'string',
      description:
        'Only events of these types: comma-separated (`eventTypes=GameStarted,GuessProcessed`); the parameter may also be repeated.',
      example: 'GameStarted,GuessProcessed',
    }),
    IsOptional(),
    Transform(commaSeparated),
    IsString({ each: true }),
  );
}

/** The `tags` filter of `$all` (reads and event streams): comma-separated, or repeated; every tag must be on the event. */
export function TagsField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'string',
      description:
        'Only events carrying every one of these tags (1 to 32): comma-separated (`tags=guild:7,word:crane`); the parameter may also be repeated. Such a read is driven by the tag index: it costs in proportion to the events carrying the first tag.',
      example: 'guild:7,word:crane',
    }),
    IsOptional(),
    Transform(commaSeparated),
    IsString({ each: true }),
  );
}

/** The `streamPrefix` filter of `$all` (reads and event streams). */
export function StreamPrefixField(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      maxLength: 200,
      description: 'Only events of streams whose id starts with this (a category, e.g. `game-`).',
      example: 'game-',
    }),
    IsOptional(),
    IsString(),
  );
}

/** Query of `DELETE /streams/{streamId}`. */
export class DeleteStreamQuery {
  /** `any` (default), `stream_exists` or a version. */
  @ApiPropertyOptional({
    // A query value is a string on the wire: a name or a version in decimal (turned into a number).
    // The explicit type also keeps swagger from referencing the reflected `Object` as a schema.
    type: 'string',
    oneOf: [
      { type: 'string', enum: ['any', 'stream_exists'] },
      { type: 'string', pattern: '^[0-9]+$', description: 'The exact current version, e.g. `3`.' },
    ],
    default: 'any',
    description:
      'Optimistic concurrency check: `any` (default), `stream_exists` or the exact current version. A mismatch is `WRONG_EXPECTED_VERSION` (409).',
    example: 'any',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  expectedVersion: string | number = 'any';

  @ApiPropertyOptional({
    enum: ['soft', 'hard'],
    default: 'soft',
    description:
      '`soft` keeps the events in `$all` and refuses further reads and appends of the stream (410 `STREAM_DELETED`); `hard` removes the stream and its events and frees its id (a soft-deleted stream can be hard-deleted).',
    example: 'soft',
  })
  @IsOptional()
  @IsIn(['soft', 'hard'], { message: 'mode must be soft or hard' })
  mode: 'soft' | 'hard' = 'soft';
}

/** Query of `GET /streams`. */
export class ListStreamsQuery {
  @ApiPropertyOptional({ maxLength: 200, description: 'Only streams whose id starts with this.', example: 'game-' })
  @IsOptional()
  @IsString()
  prefix?: string;

  @ApiPropertyOptional({ description: "Only streams whose id sorts after this one: the previous page's `nextAfter`.", example: 'game-42' })
  @IsOptional()
  @IsString()
  after?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, default: 1000, description: PAGE_SIZE_DESCRIPTION, example: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1)
  limit?: number;
}
