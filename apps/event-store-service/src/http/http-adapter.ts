import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServiceConfig } from '../configuration/service-config.js';
import type { ErrorBody } from '@game-bot/event-store/http';
import { createClientErrorHandler } from './client-error-handler.js';
import { assertJsonDepth } from '@game-bot/event-store';

/** A caller's own `X-Request-Id` is kept when it is a plain token, so that ids join up across services. */
const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * How often Node checks the requests being received against their timeouts (30 s by default): a
 * request is cut within this much of its limit.
 */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * Fastify's adapter, except for the start of the app's closing: the adapter would answer from then
 * on with a 503 in Fastify's shape; the service answers in the contract's, from the listeners
 * given to {@link ServiceHttpAdapter.onClosing} (see `GracefulShutdown`).
 */
export class ServiceHttpAdapter extends FastifyAdapter {
  private readonly closingListeners: Array<() => void> = [];

  /** Calls `listener` as soon as the app starts to close, before any of its shutdown hooks. */
  onClosing(listener: () => void): void {
    this.closingListeners.push(listener);
  }

  /** Called by Nest first thing when the app closes. */
  override beforeClose(): void {
    for (const listener of this.closingListeners) listener();
  }
}

/**
 * The service's HTTP server: Fastify, whose routing, body parsing and replies cost a fraction of
 * Express's per request (single-event appends were bound by the service's own CPU). Bodies past
 * `HTTP_BODY_LIMIT_BYTES` are refused before they are read in full; each request's id is the
 * caller's `X-Request-Id` or a new UUID; a trailing slash is ignored; HEAD answers every GET.
 *
 * Nobody holds a connection for free: headers must come within `HTTP_HEADERS_TIMEOUT_MS` (on a new
 * connection too), the whole request within `HTTP_REQUEST_TIMEOUT_MS`, a kept-alive connection is
 * closed after `HTTP_KEEP_ALIVE_TIMEOUT_MS` idle, and past `HTTP_MAX_CONNECTIONS` new connections
 * are closed at once. The timeouts cover receiving the request, never the response, so event
 * streams (which answer for as long as the client stays) are not cut; for the same reason there
 * is no socket inactivity timeout (Fastify's `connectionTimeout`), which would cut a quiet stream.
 */
export function createHttpAdapter(config: Pick<ServiceConfig, 'http'>): ServiceHttpAdapter {
  const { http } = config;
  const adapter = new ServiceHttpAdapter({
    bodyLimit: http.bodyLimitBytes,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: { headersTimeout: http.headersTimeoutMs, requestTimeout: http.requestTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    // Once Fastify closes, requests still get the service's own 503 (see `GracefulShutdown`).
    return503OnClosing: false,
    clientErrorHandler: createClientErrorHandler(http),
    routerOptions: {
      // Stream ids are up to 200 characters, percent-encoded up to three bytes each.
      maxParamLength: 2_048,
      ignoreTrailingSlash: true,
    },
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && CALLER_ID.test(given) ? given : randomUUID();
    },
    // The router refuses a malformed URL (or an over-long parameter) before any hook or filter
    // runs: answered here with the error body of every other refusal.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const body: ErrorBody = {
        statusCode: 400,
        code: 'INVALID_ARGUMENT',
        message:
          error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : 'The URL is malformed (bad percent-encoding?)',
        details: {},
      };
      void reply.status(400).header('X-Request-Id', request.id).send(body);
    },
  });
  adapter.getInstance().server.maxConnections = http.maxConnections;
  return adapter;
}

/**
 * JSON bodies as Fastify parses them (prototype poisoning refused), except that an empty body is
 * `{}`: clients that send `Content-Type: application/json` on every request, routes without a
 * body included, are not refused for it.
 */
export function acceptJsonBodies(app: INestApplication, config: Pick<ServiceConfig, 'http'>): void {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const parse = fastify.getDefaultJsonParser('error', 'error');
  (app as NestFastifyApplication).useBodyParser('application/json', { bodyLimit: config.http.bodyLimitBytes }, (request, body, done) => {
    if (body.length === 0) {
      done(null, {});
      return;
    }
    parse(request as FastifyRequest, body.toString('utf8'), (error: Error | null, parsed?: unknown) => {
      if (error !== null) {
        done(error, undefined);
        return;
      }
      try {
        // class-transformer, class-validator and the store's own checks recurse: a few thousand
        // levels would overflow the stack (a 500) before any of them could refuse the body.
        assertJsonDepth(parsed, 'body');
      } catch (refusal) {
        done(refusal as Error, undefined);
        return;
      }
      done(null, parsed);
    });
  });
}
