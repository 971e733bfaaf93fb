import { SetMetadata } from '@nestjs/common';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { Role } from './access-tokens.js';

/** Metadata key of {@link RequiresRole}. */
export const REQUIRED_ROLE = Symbol('required-role');

/** Metadata key of {@link Observability}. */
export const OBSERVABILITY = Symbol('observability');

/** The key of a route's {@link RouteAccess} in its Fastify route config. */
export const ROUTE_ACCESS = 'eventStoreAccess';

/** What a route needs: a role, or (observability) nothing or `read` as `PUBLIC_HEALTH_AND_METRICS` says. */
export interface RouteAccess {
  role?: Role;
  observability?: boolean;
}

/** The role a route needs (`read`, `write` or `admin`); routes without it are open. */
export const RequiresRole = (role: Role): MethodDecorator & ClassDecorator => routeAccess(REQUIRED_ROLE, role, { role });

/** Marks health and metrics routes: open when `PUBLIC_HEALTH_AND_METRICS` is true, else they need `read`. */
export const Observability = (): ClassDecorator => routeAccess(OBSERVABILITY, true, { observability: true });

/** The role a route with `access` needs, or `undefined` when it is open. */
export function requiredRole(access: RouteAccess, publicObservability: boolean): Role | undefined {
  if (access.observability === true) {
    return publicObservability ? undefined : 'read';
  }
  return access.role;
}

/**
 * Sets `key` for the guard (read with the Reflector, the method's before its class's), and puts
 * `access` in the Fastify route config of the method (on a class: of each of its methods), where
 * the `onRequest` hook finds it before the body is read (see `checkTokensOnRequest`). Nest copies
 * a method's route config to its Fastify route, not its class's: hence one per method.
 */
function routeAccess(key: symbol, value: unknown, access: RouteAccess): MethodDecorator & ClassDecorator {
  const metadata = SetMetadata(key, value);
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor === undefined) {
      metadata(target as never);
      for (const method of methodsOf(target as abstract new () => unknown)) setRouteAccess(method, access, false);
      return;
    }
    metadata(target, propertyKey!, descriptor);
    setRouteAccess(descriptor.value as object, access, true);
  };
}

/** Adds `access` to the method's; where both say the same thing, the method's own wins over its class's. */
function setRouteAccess(method: object, access: RouteAccess, ownMethod: boolean): void {
  const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, method) ?? {}) as Record<string, unknown>;
  const existing = (config[ROUTE_ACCESS] ?? {}) as RouteAccess;
  const merged = ownMethod ? { ...existing, ...access } : { ...access, ...existing };
  Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, [ROUTE_ACCESS]: merged }, method);
}

function methodsOf(type: abstract new () => unknown): object[] {
  return Object.entries(Object.getOwnPropertyDescriptors(type.prototype))
    .filter(([name, descriptor]) => name !== 'constructor' && typeof descriptor.value === 'function')
    .map(([, descriptor]) => descriptor.value as object);
}
