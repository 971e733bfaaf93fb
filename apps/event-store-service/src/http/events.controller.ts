import { Controller, Get, HttpStatus, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { EventStore } from '@game-bot/event-store';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { ApiErrorResponse, ApiStoreErrorResponses, RecordedEventModel } from './api-models.js';
import { eventView } from './event.view.js';
import { ServiceError } from './service-error.js';

/** Events by id, wherever they are stored. */
@ApiTags('events')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('events')
export class EventsController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** One event by id: 200 with the event, 404 `EVENT_NOT_FOUND`. */
  @ApiOperation({
    summary: 'Read one event by id',
    description: 'The event with this id, in whichever stream it is stored, as stream and `$all` reads show it. Needs the `read` role.',
  })
  @ApiParam({ name: 'eventId', format: 'uuid', example: '0b6a7c3e-58f4-4b9e-9c1e-2f0b7f6f3a11' })
  @ApiOkResponse({ type: RecordedEventModel, description: 'The event.' })
  @ApiErrorResponse(400, 'The id is not a UUID.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(404, 'No event has this id (never stored, or hard-deleted).', 'EVENT_NOT_FOUND')
  @RequiresRole('read')
  @Get(':eventId')
  async read(@Param('eventId') eventId: string): Promise<object> {
    const event = await this.store.readEvent(eventId);
    if (event === undefined) {
      throw new ServiceError(HttpStatus.NOT_FOUND, 'EVENT_NOT_FOUND', `No event has id ${eventId}: never stored, or hard-deleted`, {
        eventId,
      });
    }
    return eventView(event);
  }
}
