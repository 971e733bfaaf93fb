import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateBy, ValidateNested } from 'class-validator';

/** Retries of a webhook delivery. */
export class WebhookRetryDto {
  @IsOptional() @IsInt() @Min(1) @Max(100)
  maxAttempts?: number;

  @IsOptional() @IsInt() @Min(1)
  initialDelayMs?: number;

  @IsOptional() @IsInt() @Min(1)
  maxDelayMs?: number;
}

/** Which events of `$all` a webhook gets. */
export class WebhookFilterDto {
  @IsOptional() @IsString({ each: true })
  eventTypes?: string[];

  @IsOptional() @IsString()
  streamPrefix?: string;
}

/** Body of `POST /subscriptions`. */
export class CreateWebhookDto {
  /** The subscription's name, unique in the store. */
  @IsString() @MinLength(1) @MaxLength(200)
  name!: string;

  /** Where each event is POSTed (http or https; see WEBHOOK_ALLOWED_URLS). */
  @IsString()
  url!: string;

  /** `$all` (default) or one stream's id. */
  @IsOptional() @IsString()
  streamId = '$all';

  /** `$all` only: event types and/or stream prefix. */
  @IsOptional() @IsObject() @ValidateNested() @Type(() => WebhookFilterDto)
  filter?: WebhookFilterDto;

  /** `origin` (default), `end`, or a global position (`$all`) / stream version to deliver after. */
  @IsOptional()
  @ValidateBy({
    name: 'isStartFrom',
    validator: {
      validate: (value: unknown) => value === 'origin' || value === 'end' || (Number.isSafeInteger(value) && (value as number) >= 0),
      defaultMessage: () => "startFrom must be 'origin', 'end' or an integer >= 0",
    },
  })
  startFrom: 'origin' | 'end' | number = 'origin';

  /** Signs each body (HMAC-SHA256); generated (and returned once) when absent. */
  @IsOptional() @IsString() @MinLength(16, { message: 'secret must be at least 16 characters' })
  secret?: string;

  /** `skip` (default): a delivery failing past its retries goes to the failed deliveries; `halt`: the webhook stops there and retries it in order. */
  @IsOptional() @IsIn(['skip', 'halt'], { message: 'onFailure must be skip or halt' })
  onFailure: 'skip' | 'halt' = 'skip';

  /** In-line retries (defaults: 5 attempts, 100 ms doubling to 5 s). */
  @IsOptional() @IsObject() @ValidateNested() @Type(() => WebhookRetryDto)
  retry?: WebhookRetryDto;

  /** Scheduled retries of a failed delivery before it is dead-lettered (defaults: 10, 1 s doubling to 5 min). */
  @IsOptional() @IsObject() @ValidateNested() @Type(() => WebhookRetryDto)
  failedRetry?: WebhookRetryDto;
}

/** Query of the failed-delivery routes. */
export class FailedDeliveriesQuery {
  /** `failed` (waiting for a scheduled retry), `dead`, or both when absent. */
  @IsOptional() @IsIn(['failed', 'dead'], { message: 'status must be failed or dead' })
  status?: 'failed' | 'dead';
}

/** Body of `POST /subscriptions/{name}/reset`. */
export class ResetWebhookDto {
  /** The new checkpoint: delivery resumes after this global position (`$all`) or stream version; 0 replays everything. */
  @IsInt({ message: 'position must be an integer >= 0' })
  @Min(0, { message: 'position must be an integer >= 0' })
  position!: number;
}
