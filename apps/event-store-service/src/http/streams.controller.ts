import { Body, Controller, Delete, Get, Head, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { EventStore, type ExpectedVersion, type JsonObject } from '../../../../libs/event-store/src/index.js';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { AppendEventsDto } from './append-events.dto.js';
import { eventView, streamView } from './event.view.js';
import { DeleteStreamQuery, ListStreamsQuery, ReadStreamQuery } from './read-queries.js';

/** Streams over HTTP: each route is one call of the library. */
@Controller('streams')
export class StreamsController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** Appends events: 201 `{ streamId, fromVersion, toVersion, firstPosition, lastPosition }`. */
  @RequiresRole('write')
  @Post(':streamId/events')
  async append(@Param('streamId') streamId: string, @Body() body: AppendEventsDto): Promise<object> {
    return this.store.appendToStream(streamId, body.expectedVersion, body.events);
  }

  /** A page of a stream: `{ streamId, events, nextFromVersion }`; backward from the end by default. */
  @RequiresRole('read')
  @Get(':streamId/events')
  async read(@Param('streamId') streamId: string, @Query() query: ReadStreamQuery): Promise<object> {
    const options = { fromVersion: query.fromVersion, maxCount: query.limit };
    const forward = query.direction !== 'backward';
    const events = forward ? await this.store.readStreamForward(streamId, options) : await this.store.readStreamBackward(streamId, options);
    const last = events.at(-1);
    const full = query.limit === undefined ? false : events.length === query.limit;
    const next = last === undefined ? null : forward ? last.streamVersion + 1 : last.streamVersion - 1;
    return { streamId, events: events.map(eventView), nextFromVersion: full && next !== null && next >= 1 ? next : null };
  }

  /** Stream info: `{ streamId, version, createdAt, updatedAt, deleted, metadata }`. */
  @RequiresRole('read')
  @Get(':streamId')
  async info(@Param('streamId') streamId: string): Promise<object> {
    return streamView(await this.store.streamInfo(streamId));
  }

  /** 200 when the stream exists, 404 otherwise (no body). */
  @RequiresRole('read')
  @Head(':streamId')
  async exists(@Param('streamId') streamId: string): Promise<void> {
    await this.store.streamInfo(streamId);
  }

  /** Deletes a stream (`mode=soft|hard`, `expectedVersion`): 204. */
  @RequiresRole('admin')
  @Delete(':streamId')
  @HttpCode(204)
  async remove(@Param('streamId') streamId: string, @Query() query: DeleteStreamQuery): Promise<void> {
    await this.store.deleteStream(streamId, query.expectedVersion as ExpectedVersion, { mode: query.mode });
  }

  /** The stream's metadata. */
  @RequiresRole('read')
  @Get(':streamId/metadata')
  async metadata(@Param('streamId') streamId: string): Promise<object> {
    return this.store.getStreamMetadata(streamId);
  }

  /** Replaces the stream's metadata; the body is the new metadata object. */
  @RequiresRole('write')
  @Put(':streamId/metadata')
  async setMetadata(@Param('streamId') streamId: string, @Body() body: JsonObject): Promise<object> {
    await this.store.setStreamMetadata(streamId, body); // the store refuses anything but a JSON object
    return body;
  }

  /** Streams by id, paged: `{ streams, nextAfter }`. */
  @RequiresRole('read')
  @Get()
  async list(@Query() query: ListStreamsQuery): Promise<object> {
    const page = await this.store.listStreams({ prefix: query.prefix, after: query.after, limit: query.limit });
    return { streams: page.streams.map(streamView), nextAfter: page.nextAfter };
  }
}
