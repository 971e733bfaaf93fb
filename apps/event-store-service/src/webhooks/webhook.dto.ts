import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateBy, ValidateNested } from 'class-validator';

/** Retries of a webhook delivery. */
@ApiSchema({ name: 'WebhookRetry' })
export class WebhookRetryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, description: 'Attempts in all.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  maxAttempts?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'First delay between attempts (doubled each time, with jitter), ms.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  initialDelayMs?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'Longest delay between attempts, ms.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxDelayMs?: number;
}

/** Which events of `$all` a webhook gets. */
@ApiSchema({ name: 'WebhookFilter' })
export class WebhookFilterDto {
  @ApiPropertyOptional({ type: [String], description: 'Only events of these types.', example: ['GameWon'] })
  @IsOptional()
  @IsString({ each: true })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'Only events of streams whose id starts with this.', example: 'game-' })
  @IsOptional()
  @IsString()
  streamPrefix?: string;

  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: 32,
    description: 'Only events carrying every one of these tags (1 to 32, distinct).',
    example: ['guild:7'],
  })
  @IsOptional()
  @IsString({ each: true })
  tags?: string[];
}

/** Body of `POST /subscriptions`. */
@ApiSchema({ name: 'CreateWebhook' })
export class CreateWebhookDto {
  /** The subscription's name, unique in the store. */
  @ApiProperty({
    pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$',
    description: "The subscription's name, unique in the store.",
    example: 'scores-to-leaderboard',
  })
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, {
    message: 'name must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit',
  })
  name!: string;

  /** Where each event is POSTed (http or https; see WEBHOOK_ALLOWED_URLS). */
  @ApiProperty({
    format: 'uri',
    description: 'Where each event is POSTed (http or https, within WEBHOOK_ALLOWED_URLS).',
    example: 'https://leaderboard.example.com/hooks/scores',
  })
  @IsString()
  url!: string;

  /** `$all` (default) or one stream's id. */
  @ApiPropertyOptional({ default: '$all', description: '`$all` or one stream id.' })
  @IsOptional()
  @IsString()
  streamId = '$all';

  /** `$all` only: event types and/or stream prefix. */
  @ApiPropertyOptional({ type: () => WebhookFilterDto, description: '`$all` only: which events.' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => WebhookFilterDto)
  filter?: WebhookFilterDto;

  /** `origin` (default), `end`, or a global position (`$all`) / stream version to deliver after. */
  @ApiPropertyOptional({
    oneOf: [
      { type: 'string', enum: ['origin', 'end'] },
      { type: 'integer', minimum: 0 },
    ],
    default: 'origin',
    description: 'Where delivery starts: `origin`, `end`, or after this global position (`$all`) or stream version.',
  })
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
  @ApiPropertyOptional({
    minLength: 16,
    description: 'Signs each body (HMAC-SHA256, header X-Event-Store-Signature); generated, and returned once, when absent.',
  })
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'secret must be at least 16 characters' })
  secret?: string;

  /** `skip` (default): a delivery failing past its retries goes to the failed deliveries; `halt`: the webhook stops there and retries it in order. */
  @ApiPropertyOptional({
    enum: ['skip', 'halt'],
    default: 'skip',
    description:
      '`skip`: a delivery failing past its retries is a failed delivery (retried by the worker, then dead-lettered) and later events go on; `halt`: the webhook stops at it and tries again every WEBHOOK_SYNC_INTERVAL_MS, in order.',
  })
  @IsOptional()
  @IsIn(['skip', 'halt'], { message: 'onFailure must be skip or halt' })
  onFailure: 'skip' | 'halt' = 'skip';

  /** In-line retries (defaults: 5 attempts, 100 ms doubling to 5 s). */
  @ApiPropertyOptional({
    type: () => WebhookRetryDto,
    description: 'In-line retries of a delivery (defaults: 5 attempts, 100 ms doubling to 5 s).',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => WebhookRetryDto)
  retry?: WebhookRetryDto;

  /** Scheduled retries of a failed delivery before it is dead-lettered (defaults: 10, 1 s doubling to 5 min). */
  @ApiPropertyOptional({
    type: () => WebhookRetryDto,
    description: 'Scheduled retries of a failed delivery before it is dead-lettered (defaults: 10 attempts, 1 s doubling to 5 min).',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => WebhookRetryDto)
  failedRetry?: WebhookRetryDto;
}

/** Query of the failed-delivery routes. */
export class FailedDeliveriesQuery {
  /** `failed` (waiting for a scheduled retry), `dead`, or both when absent. */
  @ApiPropertyOptional({ enum: ['failed', 'dead'], description: '`failed` (waiting for a scheduled retry) or `dead`; both when absent.' })
  @IsOptional()
  @IsIn(['failed', 'dead'], { message: 'status must be failed or dead' })
  status?: 'failed' | 'dead';
}

/** Body of `POST /subscriptions/{name}/reset`. */
@ApiSchema({ name: 'ResetWebhook' })
export class ResetWebhookDto {
  /** The new checkpoint: delivery resumes after this global position (`$all`) or stream version; 0 replays everything. */
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'The new checkpoint: delivery resumes after this global position (`$all`) or stream version; 0 delivers everything again.',
  })
  @IsInt({ message: 'position must be an integer >= 0' })
  @Min(0, { message: 'position must be an integer >= 0' })
  position!: number;
}
