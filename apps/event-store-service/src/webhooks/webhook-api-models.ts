import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { WebhookFilterDto, WebhookRetryDto } from './webhook.dto.js';

// Response models of the webhook routes in the OpenAPI document; the routes build plain objects.

/** A webhook subscription as the API shows it (never its secret). */
@ApiSchema({ name: 'Webhook' })
export class WebhookModel {
  @ApiProperty({ example: 'scores-to-leaderboard' })
  name!: string;

  @ApiProperty({ format: 'uri', example: 'https://leaderboard.example.com/hooks/scores' })
  url!: string;

  @ApiProperty({ description: '`$all` or one stream id.', example: '$all' })
  streamId!: string;

  @ApiProperty({ type: () => WebhookFilterDto })
  filter!: WebhookFilterDto;

  @ApiProperty({
    oneOf: [
      { type: 'string', enum: ['origin', 'end'] },
      { type: 'integer', minimum: 0 },
    ],
    description: 'Where delivery started.',
  })
  startFrom!: 'origin' | 'end' | number;

  @ApiProperty({ enum: ['skip', 'halt'] })
  onFailure!: 'skip' | 'halt';

  @ApiProperty({ type: () => WebhookRetryDto })
  retry!: WebhookRetryDto;

  @ApiProperty({ type: () => WebhookRetryDto })
  failedRetry!: WebhookRetryDto;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

/** The answer to a creation: the webhook and its secret, shown this once. */
@ApiSchema({ name: 'CreatedWebhook' })
export class CreatedWebhookModel extends WebhookModel {
  @ApiProperty({
    description:
      'Signs each request body: HMAC-SHA256, hex, in `X-Event-Store-Signature: sha256=<hex>`. Shown only here; stored encrypted.',
  })
  secret!: string;
}

/** A webhook with where it stands. */
@ApiSchema({ name: 'WebhookStatus' })
export class WebhookStatusModel extends WebhookModel {
  @ApiProperty({ type: 'integer', description: 'Global position (`$all`) or stream version of the last event delivered.', example: 1042 })
  checkpoint!: number;

  @ApiProperty({ type: 'string', nullable: true, description: 'The instance delivering it (host:pid:tag), or null.' })
  owner!: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  leaseUntil!: string | null;

  @ApiProperty({ type: 'integer', description: 'Events after the checkpoint (an upper bound when filtered).' })
  lag!: number;

  @ApiProperty({ type: 'integer', description: 'Failed deliveries waiting for a scheduled retry.' })
  failed!: number;

  @ApiProperty({ type: 'integer', description: 'Dead-lettered deliveries (replay them).' })
  dead!: number;
}

/** `GET /subscriptions`. */
@ApiSchema({ name: 'WebhookList' })
export class WebhookListModel {
  @ApiProperty({ type: () => [WebhookStatusModel] })
  subscriptions!: WebhookStatusModel[];
}

/** A delivery that failed past its in-line retries. */
@ApiSchema({ name: 'FailedDelivery' })
export class FailedDeliveryModel {
  @ApiProperty() subscription!: string;
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ type: 'integer' }) globalPosition!: number;
  @ApiProperty() streamId!: string;
  @ApiProperty({ type: 'integer' }) streamVersion!: number;
  @ApiProperty({ type: 'integer', description: 'Deliveries tried so far (in-line retries count as one).' }) attempts!: number;
  @ApiProperty({ example: 'POST https://leaderboard.example.com/hooks/scores answered 500' }) lastError!: string;
  @ApiProperty({ enum: ['failed', 'dead'] }) status!: 'failed' | 'dead';
  @ApiPropertyOptional({ type: 'string', format: 'date-time', nullable: true }) nextAttemptAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

/** `GET /subscriptions/{name}/failed`. */
@ApiSchema({ name: 'FailedDeliveries' })
export class FailedDeliveriesModel {
  @ApiProperty({ type: () => [FailedDeliveryModel] })
  deliveries!: FailedDeliveryModel[];
}

/** `POST /subscriptions/{name}/failed/replay`. */
@ApiSchema({ name: 'ReplayResult' })
export class ReplayResultModel {
  @ApiProperty({ type: 'integer', description: 'Failed deliveries made due now.' })
  replayed!: number;
}
