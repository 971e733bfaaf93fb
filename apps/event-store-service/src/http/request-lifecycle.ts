import type { Logger } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { MetricsService } from '../metrics/metrics.service.js';
import type { GracefulShutdown } from './graceful-shutdown.js';

/** What watches each request. */
export interface RequestWatchers {
  /** Writes the one line per request. */
  logger: Logger;
  /** Times requests by method, route and status. */
  metrics: MetricsService;
  /** Counts the requests in flight, for shutdown. */
  shutdown: GracefulShutdown;
}

/**
 * One hook per request and one listener: echoes the request's id (see `createHttpAdapter`) in the
 * response's `X-Request-Id`; counts it in flight; and once its connection is done with it (also
 * for event streams, which Fastify does not answer itself), times it by route pattern (never the
 * raw path: no stream ids in metric labels) and logs one line: request id, method, path, status,
 * duration, whether it completed.
 */
export function watchRequests(fastify: FastifyInstance, { logger, metrics, shutdown }: RequestWatchers): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const response = reply.raw;
    response.setHeader('X-Request-Id', request.id);
    const started = process.hrtime.bigint();
    shutdown.requestStarted();
    response.once('close', () => {
      shutdown.requestEnded();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.httpSeconds.observe({ method: request.method, route, status: String(response.statusCode) }, seconds);
      logger.log('request', {
        requestId: request.id,
        method: request.method,
        path: request.url.split('?', 1)[0],
        status: response.statusCode,
        durationMs: Math.round(seconds * 10_000) / 10,
        completed: response.writableFinished,
      });
    });
    done();
  });
}
