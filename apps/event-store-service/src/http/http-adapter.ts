import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServiceConfig } from '../configuration/service-config.js';
import type { ErrorBody } from '@game-bot/event-store/http';

/** A caller's own `X-Request-Id` is kept when it is a plain token, so that ids join up across services. */
const CALLER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The service's HTTP server: Fastify, whose routing, body parsing and replies cost a fraction of
 * Express's per request (single-event appends were bound by the service's own CPU). Bodies past
 * `HTTP_BODY_LIMIT_BYTES` are refused before they are read in full; each request's id is the
 * caller's `X-Request-Id` or a new UUID; a trailing slash is ignored; HEAD answers every GET.
 */
export function createHttpAdapter(config: Pick<ServiceConfig, 'http'>): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
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
    parse(request as FastifyRequest, body.toString('utf8'), done);
  });
}
