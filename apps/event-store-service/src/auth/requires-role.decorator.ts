import { SetMetadata } from '@nestjs/common';
import type { Role } from './access-tokens.js';

/** Metadata key of {@link RequiresRole}. */
export const REQUIRED_ROLE = Symbol('required-role');

/** The role a route needs (`read`, `write` or `admin`); routes without it are open. */
export const RequiresRole = (role: Role): MethodDecorator & ClassDecorator => SetMetadata(REQUIRED_ROLE, role);

/** Metadata key of {@link Observability}. */
export const OBSERVABILITY = Symbol('observability');

/** Marks health and metrics routes: open when `PUBLIC_HEALTH_AND_METRICS` is true, else they need `read`. */
export const Observability = (): ClassDecorator => SetMetadata(OBSERVABILITY, true);
