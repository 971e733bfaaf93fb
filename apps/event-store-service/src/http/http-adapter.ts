import { FastifyAdapter } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServiceConfig } from '../configuration/service-config.js';

/** A caller's own `X-Request-Id` is kept when it is a plain token, so that ids join up across services. */
const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The service's HTTP server: Fastify, whose routing, body parsing and replies cost a fraction of
 * Express's per request (single-event appends were bound by the service's own CPU). Bodies past
 * `HTTP_BODY_LIMIT_BYTES` are refused before they are read in full; each request's id is the
 * caller's `X-Request-Id` or a new UUID; HEAD routes are the ones the controllers declare.
 */
export function createHttpAdapter(config: Pick<ServiceConfig, 'http'>): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    exposeHeadRoutes: false,
    // Stream ids are up to 200 characters, percent-encoded up to three bytes each.
    routerOptions: { maxParamLength: 2_048 },
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
    },
  });
}
