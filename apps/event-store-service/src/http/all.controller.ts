import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { EVENT_STORE_OPTIONS, EventStore } from '@game-bot/event-store';
import type { ResolvedEventStoreOptions } from '@game-bot/event-store/internal';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { AllEventsPageModel, ApiErrorResponse, ApiStoreErrorResponses } from './api-models.js';
import { eventView } from './event.view.js';
import { pageLimit, ReadAllQuery } from './read-queries.js';

/** `$all` over HTTP. */
@ApiTags('all')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('all')
export class AllController {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
  ) {}

  /** A page of `$all`: `{ events, nextFromPosition }`, filtered by `eventTypes=a,b`, `streamPrefix` and `tags=a,b`. */
  @ApiOperation({
    summary: 'Read a page of $all',
    description:
      'Every committed event of every stream in global-position order, never missing or reordering one; forward from the start by default, or backward from the end. Filter by `eventTypes`, `streamPrefix` and `tags` (every tag must be on the event); `nextFromPosition` continues the read (forward, poll it for new events). Needs the `read` role.',
  })
  @ApiOkResponse({ type: AllEventsPageModel, description: 'A page of `$all`.' })
  @ApiErrorResponse(
    400,
    'Bad query (`direction`, `limit`, `fromPosition`, `eventTypes`, `streamPrefix`, `tags`), or a stored event of a type that is not registered while the store refuses unregistered types.',
    'INVALID_ARGUMENT',
    'UNKNOWN_EVENT_TYPE',
  )
  @ApiErrorResponse(
    422,
    "A stored event's schema version is unknown to its registered type, or it fails validation once upcast.",
    'UNSUPPORTED_SCHEMA_VERSION',
    'EVENT_VALIDATION_FAILED',
  )
  @ApiErrorResponse(
    500,
    'A stored event cannot be read as its registered type (or its upcasting failed); or an unexpected failure.',
    'CORRUPTED_EVENT',
    'INTERNAL',
  )
  @RequiresRole('read')
  @Get('events')
  async read(@Query() query: ReadAllQuery): Promise<object> {
    const filter = { eventTypes: query.eventTypes, streamPrefix: query.streamPrefix, tags: query.tags }; // all absent: every event
    const options = { fromPosition: query.fromPosition, maxCount: pageLimit(query.limit, this.options.maxPageSize), filter };
    const page = query.direction === 'backward' ? await this.store.readAllBackward(options) : await this.store.readAllForward(options);
    return { events: page.events.map(eventView), nextFromPosition: page.nextFromPosition };
  }
}
