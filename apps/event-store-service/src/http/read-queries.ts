import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Min } from 'class-validator';

/** Direction and page size, shared by the paged reads. */
class PageQuery {
  @IsOptional() @IsIn(['forward', 'backward'], { message: 'direction must be forward or backward' })
  direction: 'forward' | 'backward' = 'forward';

  @IsOptional() @Type(() => Number) @IsInt({ message: 'limit must be an integer' }) @Min(1)
  limit?: number;
}

/** Query of `GET /streams/{streamId}/events`. */
export class ReadStreamQuery extends PageQuery {
  @IsOptional() @Type(() => Number) @IsInt({ message: 'fromVersion must be an integer' }) @Min(0)
  fromVersion?: number;
}

/** Query of `GET /all/events`. */
export class ReadAllQuery extends PageQuery {
  @IsOptional() @Type(() => Number) @IsInt({ message: 'fromPosition must be an integer' }) @Min(0)
  fromPosition?: number;

  /** Comma-separated event types. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.split(',').filter(Boolean) : value))
  @IsString({ each: true })
  eventTypes?: string[];

  @IsOptional() @IsString()
  streamPrefix?: string;
}

/** Query of `DELETE /streams/{streamId}`. */
export class DeleteStreamQuery {
  /** `any` (default), `stream_exists` or a version. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))
  expectedVersion: string | number = 'any';

  @IsOptional() @IsIn(['soft', 'hard'], { message: 'mode must be soft or hard' })
  mode: 'soft' | 'hard' = 'soft';
}

/** Query of `GET /streams`. */
export class ListStreamsQuery {
  @IsOptional() @IsString()
  prefix?: string;

  @IsOptional() @IsString()
  after?: string;

  @IsOptional() @Type(() => Number) @IsInt({ message: 'limit must be an integer' }) @Min(1)
  limit?: number;
}
