import type { FastifyInstance } from 'fastify';
import type { AccessTokens } from './access-tokens.js';
import { requiredRole, type RouteAccess } from './requires-role.decorator.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs, from `@RequiresRole` or `@Observability` (the key is `ROUTE_ACCESS`). */
    eventStoreAccess?: RouteAccess;
  }
}

/**
 * Checks the bearer token in Fastify's `onRequest` hook, the earliest place that knows the route
 * (its Fastify route config carries what `@RequiresRole` and `@Observability` say): before the
 * body is read, so that a caller without a token gets 401 rather than an answer about its body, and
 * no unauthenticated upload is buffered or parsed. The refusal goes to the exception filter like
 * any other error. Nothing is added when no token is configured (access control is off).
 */
export function checkTokensOnRequest(fastify: FastifyInstance, tokens: AccessTokens, publicObservability: boolean): void {
  if (!tokens.enabled) return;
  fastify.addHook('onRequest', (request, _reply, done) => {
    const required = requiredRole(request.routeOptions.config?.eventStoreAccess ?? {}, publicObservability);
    try {
      if (required !== undefined) tokens.authorize(request.headers.authorization, required);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });
}
