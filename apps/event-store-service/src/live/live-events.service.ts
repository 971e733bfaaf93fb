import { HttpStatus, Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { EventStore, EventStoreError, type AllFilter, type RecordedEvent, type StartFrom } from '@game-bot/event-store';
import { eventView, versionInStream } from '../http/event.view.js';
import { ServiceError, shuttingDown } from '../http/service-error.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { LIVE_LIMITS, type LiveLimits } from './live-limits.js';
import { SseConnection, type CloseReason } from './sse-connection.js';

/** What an event stream delivers. */
export interface LiveFeed {
  /** `$all` or a stream id. */
  streamId: string;
  startFrom: StartFrom;
  filter?: AllFilter;
}

/**
 * Server-Sent Events: each connection is a transient subscription of the store (catch-up, then
 * live, with no gap at the switch) whose handler writes to the response. The SSE `id` of an event
 * is its global position on `$all` and its version in the stream on a stream (a link's own version
 * for an event linked there), so that `Last-Event-ID` is exactly the subscription's `startFrom`
 * when a client reconnects.
 */
@Injectable()
export class LiveEvents implements OnModuleDestroy {
  private readonly logger = new Logger(LiveEvents.name);
  private readonly connections = new Set<SseConnection>();
  private closing = false;

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(LIVE_LIMITS) private readonly limits: LiveLimits,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /**
   * Streams `feed` to the response until the client goes, the store fails, or the service stops.
   * Refuses (503, before any event) while shutting down or when `maxConnections` are open.
   */
  open(request: FastifyRequest, reply: FastifyReply, feed: LiveFeed): void {
    this.assertAccepting();
    const connection = new SseConnection(request.raw, reply.raw, this.limits, (reason) => this.metrics.sseDisconnects.inc({ reason }));
    if (connection.abandoned) return; // the client left while the request was checked: nothing to stream
    const idOf = feed.streamId === '$all' ? (event: RecordedEvent) => event.globalPosition : versionInStream;
    const subscription = this.store.subscribe(feed.streamId, (event) => connection.send(idOf(event), eventView(event)), {
      startFrom: feed.startFrom,
      filter: feed.filter,
    });
    reply.hijack(); // the response is the stream's from here on, not Fastify's
    connection.start();
    this.connections.add(connection);
    this.metrics.sseConnections.inc();
    subscription.stopped.catch((error: unknown) => connection.close(this.reasonOf(error)));
    void connection.closed
      .then(() => {
        this.connections.delete(connection);
        this.metrics.sseConnections.dec();
        return subscription.unsubscribe();
      })
      .catch((error: unknown) => this.logger.warn(`Could not stop an event stream's subscription: ${String(error)}`));
  }

  /** Ends every stream with a reason, so that clients reconnect (to another instance) at once. */
  onModuleDestroy(): void {
    this.closing = true;
    for (const connection of this.connections) {
      connection.close({ code: 'SHUTTING_DOWN', message: 'The service is shutting down: reconnect with Last-Event-ID to resume' });
    }
  }

  private assertAccepting(): void {
    if (this.closing) {
      throw shuttingDown('reconnect to another instance');
    }
    if (this.connections.size >= this.limits.maxConnections) {
      throw new ServiceError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'TOO_MANY_STREAMS',
        `This instance serves ${this.limits.maxConnections} event streams already (SSE_MAX_CONNECTIONS): retry later or elsewhere`,
        {
          maxConnections: this.limits.maxConnections,
        },
      );
    }
  }

  private reasonOf(error: unknown): CloseReason {
    if (error instanceof EventStoreError) {
      return { code: error.code, message: error.message, details: error.details };
    }
    this.logger.error(`An event stream failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { code: 'INTERNAL', message: 'Internal error' };
  }
}
