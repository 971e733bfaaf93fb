import { Controller, Get, Inject, Query } from '@nestjs/common';
import { EventStore } from '../../../../libs/event-store/src/index.js';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { eventView } from './event.view.js';
import { ReadAllQuery } from './read-queries.js';

/** `$all` over HTTP. */
@Controller('all')
export class AllController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** A page of `$all`: `{ events, nextFromPosition }`, filtered by `eventTypes=a,b` and `streamPrefix`. */
  @RequiresRole('read')
  @Get('events')
  async read(@Query() query: ReadAllQuery): Promise<object> {
    const filter = query.eventTypes || query.streamPrefix !== undefined ? { eventTypes: query.eventTypes, streamPrefix: query.streamPrefix } : undefined;
    const options = { fromPosition: query.fromPosition, maxCount: query.limit, filter };
    const page = query.direction === 'backward' ? await this.store.readAllBackward(options) : await this.store.readAllForward(options);
    return { events: page.events.map(eventView), nextFromPosition: page.nextFromPosition };
  }
}
