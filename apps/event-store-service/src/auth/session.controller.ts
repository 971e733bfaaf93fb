import { Controller, Get, Headers, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AccessTokens, type Role } from './access-tokens.js';
import { bearerCredentials } from './bearer-credentials.js';
import { RequiresRole } from './requires-role.decorator.js';

/** What the caller's credentials may do. */
export interface SessionView {
  /** The token's role; `admin` when access control is off. */
  role: Role;
  /** Whether the service checks tokens at all (EVENT_STORE_TOKENS set). */
  accessControl: boolean;
}

/** The caller's session: which role its token has (the admin console shows its actions by it). */
@ApiTags('session')
@ApiBearerAuth()
@Controller('session')
export class SessionController {
  constructor(@Inject(AccessTokens) private readonly tokens: AccessTokens) {}

  /** `{ role, accessControl }`; 401 without a known token when access control is on. */
  @ApiOperation({
    summary: "The caller's role",
    description:
      'The role of the bearer token (`read`, `write` or `admin`); `admin` with `accessControl: false` when the service checks no tokens. Needs any known token.',
  })
  @ApiOkResponse({
    description: 'The role.',
    schema: {
      type: 'object',
      properties: { role: { type: 'string', enum: ['read', 'write', 'admin'] }, accessControl: { type: 'boolean' } },
      example: { role: 'read', accessControl: true },
    },
  })
  @RequiresRole('read')
  @Get()
  session(@Headers('authorization') authorization: string | undefined): SessionView {
    if (!this.tokens.enabled) return { role: 'admin', accessControl: false };
    const credentials = bearerCredentials(authorization);
    // The token hook and guard let only a known token through to here.
    const role = credentials.kind === 'token' ? this.tokens.roleOf(credentials.token) : undefined;
    return { role: role ?? 'read', accessControl: true };
  }
}
