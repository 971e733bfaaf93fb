import { Controller, Get, Headers, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  EventStore,
  InvalidArgumentError,
  StreamDeletedError,
  StreamNotFoundError,
  type StartFrom,
} from '../../../../libs/event-store/src/index.js';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { LiveEvents } from './live-events.service.js';
import { SubscribeAllQuery, SubscribeStreamQuery } from './subscribe-queries.js';

/**
 * Server-Sent Events of one stream and of `$all`: catch-up, then live. Each event is one SSE
 * message (`id`: its stream version or global position; `data`: the event as `GET` returns it);
 * a client that reconnects with `Last-Event-ID` resumes right after that event.
 */
@Controller()
export class LiveController {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(LiveEvents) private readonly live: LiveEvents,
  ) {}

  /** The events of one stream; `fromVersion` (default 1) or `end`. A stream yet to be created is waited for. */
  @RequiresRole('read')
  @Get('streams/:streamId/subscribe')
  async stream(
    @Param('streamId') streamId: string,
    @Query() query: SubscribeStreamQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    await this.assertNotDeleted(streamId);
    const fromVersion = query.fromVersion ?? 1;
    const startFrom = resumeAfter(lastEventId) ?? (fromVersion === 'end' ? 'end' : fromVersion - 1);
    this.live.open(request, response, { streamId, startFrom });
  }

  /** The events of `$all` after `fromPosition` (default 0) or from the `end`, filtered by `eventTypes` and `streamPrefix`. */
  @RequiresRole('read')
  @Get('all/subscribe')
  all(
    @Query() query: SubscribeAllQuery,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() request: Request,
    @Res() response: Response,
  ): void {
    const filter = query.eventTypes || query.streamPrefix !== undefined ? { eventTypes: query.eventTypes, streamPrefix: query.streamPrefix } : undefined;
    const startFrom = resumeAfter(lastEventId) ?? query.fromPosition ?? 0;
    this.live.open(request, response, { streamId: '$all', startFrom, filter });
  }

  /** Refuses, as a plain error response, what would only fail once the event stream has started. */
  private async assertNotDeleted(streamId: string): Promise<void> {
    try {
      if ((await this.store.streamInfo(streamId)).deleted) {
        throw new StreamDeletedError(streamId);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
  }
}

/** The `startFrom` a `Last-Event-ID` header asks for: the id of the last event the client has. */
function resumeAfter(lastEventId: string | undefined): StartFrom | undefined {
  if (lastEventId === undefined || lastEventId === '') return undefined;
  if (!/^\d{1,15}$/.test(lastEventId.trim())) {
    throw new InvalidArgumentError(`Last-Event-ID must be the id of an event this service sent (an integer), got '${lastEventId}'`);
  }
  return Number(lastEventId.trim());
}
