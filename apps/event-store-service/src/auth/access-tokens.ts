import { createHash, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '@game-bot/event-store';
import { bearerCredentials } from './bearer-credentials.js';

/** What a token may do; each role includes the ones before it. */
export const ROLES = ['read', 'write', 'admin'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * The configured bearer tokens and their roles. Tokens are kept as SHA-256 digests and compared
 * in constant time, so neither the comparison's timing nor a memory dump of this object tells a token.
 */
export class AccessTokens {
  private readonly entries: Array<{ digest: Buffer; role: Role }>;

  constructor(tokens: Array<{ token: string; role: Role }>) {
    this.entries = tokens.map(({ token, role }) => ({ digest: digest(token), role }));
  }

  /** Whether any token is configured (without any, access control is off). */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** The role of `token`, or `undefined` if it is not one of ours. Every entry is compared. */
  roleOf(token: string): Role | undefined {
    const given = digest(token);
    let found: Role | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, given)) {
        found = entry.role;
      }
    }
    return found;
  }

  /**
   * Checks the `Authorization` header of a request to a route that needs `required`: throws
   * UNAUTHORIZED without a known bearer token, FORBIDDEN with too small a role.
   */
  authorize(header: string | undefined, required: Role): void {
    const credentials = bearerCredentials(header);
    if (credentials.kind === 'malformed') {
      throw new UnauthorizedError('Malformed credentials: send Authorization: Bearer <token>, with nothing after the token');
    }
    const role = credentials.kind === 'token' ? this.roleOf(credentials.token) : undefined;
    if (role === undefined) {
      throw new UnauthorizedError();
    }
    if (!AccessTokens.allows(role, required)) {
      throw new ForbiddenError(`This operation needs the '${required}' role; these credentials have '${role}'`);
    }
  }

  /** Whether `role` includes `required`. */
  static allows(role: Role, required: Role): boolean {
    return ROLES.indexOf(role) >= ROLES.indexOf(required);
  }

  /**
   * Parses `EVENT_STORE_TOKENS`: comma-separated `token:role` pairs, e.g.
   * `s3cr3t-reader:read,s3cr3t-bot:write,s3cr3t-ops:admin`. Throws a message naming the mistake.
   */
  static parse(text: string | undefined): Array<{ token: string; role: Role }> {
    if (!text) {
      return [];
    }
    return text.split(',').map((pair, index) => {
      const separator = pair.lastIndexOf(':');
      const token = pair.slice(0, separator).trim();
      const role = pair.slice(separator + 1).trim() as Role;
      if (separator < 1 || token.length < 16 || !ROLES.includes(role)) {
        throw new Error(
          `EVENT_STORE_TOKENS entry ${index + 1} must be token:role, the token at least 16 characters, the role read, write or admin`,
        );
      }
      return { token, role };
    });
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
