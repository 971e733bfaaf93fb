import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingHttpHeaders } from 'node:http';
import { ForbiddenError, UnauthorizedError } from '@game-bot/event-store';
import { AccessTokens, type Role } from './access-tokens.js';
import { OBSERVABILITY, REQUIRED_ROLE } from './requires-role.decorator.js';

/** Injection token of whether health and metrics are open to all. */
export const PUBLIC_OBSERVABILITY = Symbol('PUBLIC_OBSERVABILITY');

/**
 * Bearer-token access control: a route marked `@RequiresRole(role)` needs `Authorization: Bearer
 * <token>` with at least that role: UNAUTHORIZED (401) without a known token, FORBIDDEN (403) with
 * too small a role. With no token configured, every route is open (development).
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
    const observability = this.reflector.getAllAndOverride<boolean | undefined>(OBSERVABILITY, targets) === true;
    const required = observability
      ? this.publicObservability
        ? undefined
        : 'read'
      : this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets);
    if (required === undefined || !this.tokens.enabled) {
      return true;
    }
    const header = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders }>().headers.authorization ?? '';
    const [scheme, token] = header.split(' ');
    const role = scheme === 'Bearer' && token ? this.tokens.roleOf(token) : undefined;
    if (role === undefined) {
      throw new UnauthorizedError();
    }
    if (!AccessTokens.allows(role, required)) {
      throw new ForbiddenError(`This operation needs the '${required}' role; these credentials have '${role}'`);
    }
    return true;
  }
}
