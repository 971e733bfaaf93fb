import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Observable } from 'rxjs';
import { TRACER_NAME } from '@game-bot/event-store';

/** Each request's context, its server span in it, from its first hook to its handler. */
const requestContexts = new WeakMap<IncomingMessage, Context>();

/**
 * One server span per request (every request: unmatched routes, refusals and event streams too),
 * a child of the caller's `traceparent` when it sends one, named by method and route pattern
 * (never the raw path), with the status; 5xx answers are errors. Ends when the connection is done
 * with the request, as the request log does; a request whose connection closed before any answer
 * was sent has no status but `http.request.aborted`.
 */
export function traceRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = trace
      .getTracer(TRACER_NAME)
      .startSpan(
        request.method,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': request.url.split('?', 1)[0] } },
        parent,
      );
    requestContexts.set(request.raw, trace.setSpan(parent, span));
    reply.raw.once('close', () => {
      const route = request.routeOptions.url;
      if (route !== undefined) span.updateName(`${request.method} ${route}`).setAttribute('http.route', route);
      if (!reply.raw.headersSent) {
        // The connection closed before any answer: no status (Node's default 200 was never sent).
        span.setAttribute('http.request.aborted', true);
      } else {
        const status = reply.raw.statusCode;
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    done();
  });
}

/**
 * Runs each handler in its request's span context, so that the store's spans (and the trace
 * context stored with appended events) are its children. Fastify's hooks cannot: a request body
 * is read in callbacks of the connection, outside any context a hook sets.
 */
@Injectable()
export class RequestTraceInterceptor implements NestInterceptor {
  intercept(execution: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = execution.switchToHttp().getRequest<FastifyRequest | undefined>();
    const active = request === undefined ? undefined : requestContexts.get(request.raw);
    if (active === undefined) return next.handle();
    return new Observable((subscriber) => context.with(active, () => next.handle().subscribe(subscriber)));
  }
}
