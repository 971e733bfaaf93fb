import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import type { WebhookDefinition, WebhookState } from './webhook-definition.js';
import { CreateWebhookDto, FailedDeliveriesQuery, ResetWebhookDto } from './webhook.dto.js';
import { Webhooks } from './webhooks.service.js';

/**
 * Webhook subscriptions over HTTP. Creating, deleting, replaying and resetting need `admin`;
 * looking needs `read`. The secret is returned once, by the creation.
 */
@Controller('subscriptions')
export class SubscriptionsController {
  constructor(@Inject(Webhooks) private readonly webhooks: Webhooks) {}

  /** Creates a webhook subscription: 201 with its definition and `secret`. */
  @RequiresRole('admin')
  @Post()
  async create(@Body() body: CreateWebhookDto): Promise<object> {
    const webhook = await this.webhooks.create({
      name: body.name,
      url: body.url,
      secret: body.secret,
      streamId: body.streamId,
      filter: { eventTypes: body.filter?.eventTypes, streamPrefix: body.filter?.streamPrefix },
      startFrom: body.startFrom,
      onFailure: body.onFailure,
      retry: { ...body.retry },
      failedRetry: { ...body.failedRetry },
    });
    return { ...webhookView(webhook), secret: webhook.secret };
  }

  /** Every webhook subscription with its checkpoint, lag and failures. */
  @RequiresRole('read')
  @Get()
  async list(): Promise<object> {
    const entries = await this.webhooks.list();
    return { subscriptions: entries.map(({ webhook, state }) => ({ ...webhookView(webhook), ...stateView(state) })) };
  }

  /** One webhook subscription with its checkpoint, lease, lag and failures. */
  @RequiresRole('read')
  @Get(':name')
  async get(@Param('name') name: string): Promise<object> {
    const { webhook, state } = await this.webhooks.get(name);
    return { ...webhookView(webhook), ...stateView(state) };
  }

  /** Deletes it, its checkpoint and its failed deliveries: 204. */
  @RequiresRole('admin')
  @Delete(':name')
  @HttpCode(204)
  async delete(@Param('name') name: string): Promise<void> {
    await this.webhooks.delete(name);
  }

  /** Its failed deliveries: `{ deliveries }`, filtered by `status=failed|dead`. */
  @RequiresRole('read')
  @Get(':name/failed')
  async failed(@Param('name') name: string, @Query() query: FailedDeliveriesQuery): Promise<object> {
    return { deliveries: await this.webhooks.failed(name, query.status) };
  }

  /** Makes its failed deliveries (`status=failed|dead`, default both) due now: `{ replayed }`. */
  @RequiresRole('admin')
  @Post(':name/failed/replay')
  @HttpCode(200)
  async replay(@Param('name') name: string, @Query() query: FailedDeliveriesQuery): Promise<object> {
    return { replayed: await this.webhooks.replay(name, query.status) };
  }

  /** Moves its checkpoint: delivery resumes after `position` (0: from the start). 204. */
  @RequiresRole('admin')
  @Post(':name/reset')
  @HttpCode(204)
  async reset(@Param('name') name: string, @Body() body: ResetWebhookDto): Promise<void> {
    await this.webhooks.reset(name, body.position);
  }
}

/** A webhook as the API shows it: never its secret. */
function webhookView(webhook: WebhookDefinition): Record<string, unknown> {
  const { secret: _secret, createdAt, ...rest } = webhook;
  return { ...rest, createdAt: createdAt.toISOString() };
}

function stateView(state: WebhookState): Record<string, unknown> {
  return { ...state, leaseUntil: state.leaseUntil?.toISOString() ?? null };
}
