import { Transform } from 'class-transformer';
import { IsOptional, IsString, ValidateIf, IsInt, Min, Equals } from 'class-validator';

const toCursor = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

/** An integer >= `min`, or `end` (only events appended from now on). */
function Cursor(name: string, min: number): PropertyDecorator {
  const message = `${name} must be an integer >= ${min} or 'end'`;
  return (target, key) => {
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
  @Cursor('fromVersion', 1)
  fromVersion?: number | 'end';
}

/** Query of `GET /all/subscribe`. */
export class SubscribeAllQuery {
  /** The `$all` cursor: events after this global position (default 0: from the start), or `end`. */
  @Cursor('fromPosition', 0)
  fromPosition?: number | 'end';

  /** Comma-separated event types. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').filter(Boolean) : value))
  @IsString({ each: true })
  eventTypes?: string[];

  @IsOptional() @IsString()
  streamPrefix?: string;
}
