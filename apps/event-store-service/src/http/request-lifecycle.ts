import type { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
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

/** A caller's own `X-Request-Id` is kept when it is a plain token, so that ids join up across services. */
const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Express middleware, one per request and one listener: gives the request an id (the caller's
 * `X-Request-Id`, or a new UUID) echoed in the response's `X-Request-Id` and kept in
 * `response.locals.requestId` (the error filter logs it); counts it in flight; and once it ends,
 * times it by route pattern (never the raw path: no stream ids in metric labels) and logs one line
 * (request id, method, path, status, duration, whether it completed).
 */
export function requestLifecycle({ logger, metrics, shutdown }: RequestWatchers): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const given = request.headers['x-request-id'];
    const requestId = typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    response.locals.requestId = requestId;
    const started = process.hrtime.bigint();
    shutdown.requestStarted();
    response.once('close', () => {
      shutdown.requestEnded();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.httpSeconds.observe({ method: request.method, route, status: String(response.statusCode) }, seconds);
      logger.log('request', {
        requestId,
        method: request.method,
        path: request.path,
        status: response.statusCode,
        durationMs: Math.round(seconds * 10_000) / 10,
        completed: response.writableFinished,
      });
    });
    next();
  };
}
