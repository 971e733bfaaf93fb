import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { ApiErrorResponse, ApiStoreErrorResponses } from '../http/api-models.js';
import {
  CreatedWebhookModel,
  FailedDeliveriesModel,
  ReplayResultModel,
  WebhookListModel,
  WebhookStatusModel,
} from './webhook-api-models.js';
import type { WebhookDefinition, WebhookState } from './webhook-definition.js';
import { displayUrl } from './webhook-delivery.js';
import { CreateWebhookDto, FailedDeliveriesQuery, ResetWebhookDto } from './webhook.dto.js';
import { Webhooks } from './webhooks.service.js';

const DELIVERY =
  'A persistent subscription of `$all` (optionally filtered) or of one stream whose events are POSTed to `url`, one at a time, in order, at least once, by one instance of the service at a time. Body: `{ "subscription", "event" }` (the event as the reads return it); headers `X-Event-Store-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`, `X-Event-Store-Subscription`, `X-Event-Store-Event-Id` (deduplicate on it). A 2xx answer delivers it; anything else (or no answer within WEBHOOK_TIMEOUT_MS) is retried with backoff, then recorded as a failed delivery, retried by the scheduled worker, then dead-lettered.';

/**
 * Webhook subscriptions over HTTP. Creating, deleting, replaying and resetting need `admin`;
 * looking needs `read`. The secret is returned once, by the creation.
 */
@ApiTags('subscriptions')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('subscriptions')
export class SubscriptionsController {
  constructor(@Inject(Webhooks) private readonly webhooks: Webhooks) {}

  /** Creates a webhook subscription: 201 with its definition and `secret`. */
  @ApiOperation({ summary: 'Create a webhook subscription', description: `${DELIVERY} Needs the \`admin\` role.` })
  @ApiCreatedResponse({ type: CreatedWebhookModel })
  @ApiErrorResponse(
    400,
    'Bad definition, a URL outside WEBHOOK_ALLOWED_URLS, or WEBHOOK_MAX_SUBSCRIPTIONS webhooks exist already (`details.max`).',
    'INVALID_ARGUMENT',
  )
  @ApiErrorResponse(403, 'Needs `admin`.', 'FORBIDDEN')
  @ApiErrorResponse(409, 'A subscription of that name exists.', 'SUBSCRIPTION_EXISTS')
  @ApiErrorResponse(
    503,
    'The database cannot be reached: retry later. `WEBHOOKS_NOT_CONFIGURED`: WEBHOOK_SECRETS_KEY, which encrypts webhook secrets, is unset on this instance.',
    'STORE_UNAVAILABLE',
  )
  @RequiresRole('admin')
  @Post()
  async create(@Body() body: CreateWebhookDto): Promise<object> {
    const webhook = await this.webhooks.create({
      name: body.name,
      url: body.url,
      secret: body.secret,
      streamId: body.streamId,
      filter: { eventTypes: body.filter?.eventTypes, streamPrefix: body.filter?.streamPrefix, tags: body.filter?.tags },
      startFrom: body.startFrom,
      onFailure: body.onFailure,
      retry: { ...body.retry },
      failedRetry: { ...body.failedRetry },
    });
    return { ...webhookView(webhook, true), secret: webhook.secret };
  }

  /** Every webhook subscription with its checkpoint, lag and failures. */
  @ApiOperation({ summary: 'List webhook subscriptions', description: 'With checkpoint, owner, lag and failures. Needs `read`.' })
  @ApiOkResponse({ type: WebhookListModel })
  @RequiresRole('read')
  @Get()
  async list(): Promise<object> {
    const entries = await this.webhooks.list();
    return { subscriptions: entries.map(({ webhook, state }) => ({ ...webhookView(webhook), ...stateView(state) })) };
  }

  /** One webhook subscription with its checkpoint, lease, lag and failures. */
  @ApiOperation({
    summary: 'Inspect a webhook subscription',
    description: 'Its definition (not its secret), checkpoint, owner, lag and failures. Needs `read`.',
  })
  @ApiOkResponse({ type: WebhookStatusModel })
  @ApiErrorResponse(404, 'No such subscription.', 'SUBSCRIPTION_NOT_FOUND')
  @RequiresRole('read')
  @Get(':name')
  async get(@Param('name') name: string): Promise<object> {
    const { webhook, state } = await this.webhooks.get(name);
    return { ...webhookView(webhook), ...stateView(state) };
  }

  /** Deletes it, its checkpoint and its failed deliveries: 204. */
  @ApiOperation({ summary: 'Delete a webhook subscription', description: 'With its checkpoint and failed deliveries. Needs `admin`.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrorResponse(403, 'Needs `admin`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'No such subscription.', 'SUBSCRIPTION_NOT_FOUND')
  @RequiresRole('admin')
  @Delete(':name')
  @HttpCode(204)
  async delete(@Param('name') name: string): Promise<void> {
    await this.webhooks.delete(name);
  }

  /** Its failed deliveries: `{ deliveries }`, filtered by `status=failed|dead`. */
  @ApiOperation({
    summary: 'List failed deliveries',
    description: '`failed` ones wait for a scheduled retry; `dead` ones wait for a replay. Needs `read`.',
  })
  @ApiOkResponse({ type: FailedDeliveriesModel })
  @ApiErrorResponse(404, 'No such subscription.', 'SUBSCRIPTION_NOT_FOUND')
  @RequiresRole('read')
  @Get(':name/failed')
  async failed(@Param('name') name: string, @Query() query: FailedDeliveriesQuery): Promise<object> {
    return { deliveries: await this.webhooks.failed(name, query.status) };
  }

  /** Makes its failed deliveries (`status=failed|dead`, default both) due now: `{ replayed }`. */
  @ApiOperation({
    summary: 'Replay failed deliveries',
    description: 'Makes them due now: the scheduled worker delivers them within a second. Needs `admin`.',
  })
  @ApiOkResponse({ type: ReplayResultModel })
  @ApiErrorResponse(403, 'Needs `admin`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'No such subscription.', 'SUBSCRIPTION_NOT_FOUND')
  @RequiresRole('admin')
  @Post(':name/failed/replay')
  @HttpCode(200)
  async replay(@Param('name') name: string, @Query() query: FailedDeliveriesQuery): Promise<object> {
    return { replayed: await this.webhooks.replay(name, query.status) };
  }

  /** Moves its checkpoint: delivery resumes after `position` (0: from the start). 204. */
  @ApiOperation({
    summary: 'Move the checkpoint',
    description:
      'Delivery resumes after `position` (0: everything again), wherever it runs: the instance delivering it loses its lease at its next renewal (within a second) and resumes from the new checkpoint; an event being delivered at that moment may still complete. Needs `admin`.',
  })
  @ApiNoContentResponse({ description: 'Reset.' })
  @ApiErrorResponse(400, 'Bad position.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(409, 'Created a moment ago, it has not started anywhere yet: retry.', 'SUBSCRIPTION_NOT_STARTED')
  @ApiErrorResponse(403, 'Needs `admin`.', 'FORBIDDEN')
  @ApiErrorResponse(404, 'No such subscription.', 'SUBSCRIPTION_NOT_FOUND')
  @RequiresRole('admin')
  @Post(':name/reset')
  @HttpCode(204)
  async reset(@Param('name') name: string, @Body() body: ResetWebhookDto): Promise<void> {
    await this.webhooks.reset(name, body.position);
  }
}

/**
 * A webhook as the API shows it: its fields named one by one, so that its secret (or the stored
 * form of it) never comes along; its URL's query (which may hold a token) only to its creator.
 */
function webhookView(webhook: WebhookDefinition, fullUrl = false): Record<string, unknown> {
  const { name, url, streamId, filter, startFrom, onFailure, retry, failedRetry, createdAt } = webhook;
  const shown = fullUrl || new URL(url).search === '' ? url : `${displayUrl(url)}?…`;
  return { name, url: shown, streamId, filter, startFrom, onFailure, retry, failedRetry, createdAt: createdAt.toISOString() };
}

function stateView(state: WebhookState): Record<string, unknown> {
  return { ...state, leaseUntil: state.leaseUntil?.toISOString() ?? null };
}
