import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import { AccessTokens, type Role } from './access-tokens.js';
import { OBSERVABILITY, REQUIRED_ROLE, requiredRole } from './requires-role.decorator.js';

/** Injection token of whether health and metrics are open to all. */
export const PUBLIC_OBSERVABILITY = Symbol('PUBLIC_OBSERVABILITY');

/**
 * Bearer-token access control: a route marked `@RequiresRole(role)` needs `Authorization: Bearer
 * <token>` with at least that role: UNAUTHORIZED (401) without a known token, FORBIDDEN (403) with
 * too small a role. With no token configured, every route is open (development).
 *
 * The service checks the same rule earlier, before the body is read (`checkTokensOnRequest`, set
 * up by `configureHttp`); this guard stays as the check of Nest's own pipeline, for an app set up
 * without that hook.
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AccessTokens) private readonly tokens: AccessTokens,
    @Inject(PUBLIC_OBSERVABILITY) private readonly publicObservability: boolean,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const access = {
      observability: this.reflector.getAllAndOverride<boolean | undefined>(OBSERVABILITY, targets),
      role: this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets),
    };
    const required = requiredRole(access, this.publicObservability);
    if (required !== undefined && this.tokens.enabled) {
      this.tokens.authorize(context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>().headers.authorization, required);
    }
    return true;
  }
}
