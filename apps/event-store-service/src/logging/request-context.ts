import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '@nestjs/common';

/** What is known of the request being served, wherever its work runs. */
interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** Runs `work` outside any request: what it starts (a webhook's subscription) outlives the request. */
export function outsideRequest<T>(work: () => T): T {
  return storage.exit(work);
}

/** A caller's own `X-Request-Id` is kept when it is a plain token, so that ids join up across services. */
const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Express middleware: gives each request an id (the caller's `X-Request-Id`, or a new UUID),
 * echoes it in the response's `X-Request-Id`, makes it the `requestId` of every log line written
 * while serving it, and logs one line per request (method, path, status, duration) once it ends.
 */
export function requestLogging(logger: Logger): (request: Request, response: Response, next: NextFunction) => void {
  return (request, response, next) => {
    const given = request.header('x-request-id');
    const requestId = given !== undefined && CALLER_ID.test(given) ? given : randomUUID();
    response.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    response.once('close', () => {
      const fields = {
        method: request.method,
        path: request.path,
        status: response.statusCode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        completed: response.writableFinished,
      };
      storage.run({ requestId }, () => logger.log('request', fields));
    });
    storage.run({ requestId }, next);
  };
}
