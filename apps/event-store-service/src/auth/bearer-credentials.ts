/**
 * What an `Authorization` header holds: no bearer credentials (none, or another scheme), malformed
 * ones, or a token. The scheme is case-insensitive (RFC 7235, section 2.1); the token is one run of
 * visible characters, with nothing after it but spaces (RFC 6750, section 2.1).
 */
export type BearerCredentials = { kind: 'none' } | { kind: 'malformed' } | { kind: 'token'; token: string };

const BEARER = /^bearer(?: +(.*))?$/i;
const TOKEN = /^(\S+) *$/;

/** Reads the bearer credentials of `header`. */
export function bearerCredentials(header: string | undefined): BearerCredentials {
  const bearer = BEARER.exec(header?.trim() ?? '');
  if (bearer === null) {
    return { kind: 'none' };
  }
  const token = TOKEN.exec(bearer[1] ?? '');
  return token === null ? { kind: 'malformed' } : { kind: 'token', token: token[1]! };
}

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 6750, section 3): `Bearer` alone when the request
 * had no bearer credentials, with `error="invalid_request"` when they were malformed, and with
 * `error="invalid_token"` when the token was not one of ours.
 */
export function bearerChallenge(header: string | undefined): string {
  const credentials = bearerCredentials(header);
  if (credentials.kind === 'none') {
    return 'Bearer';
  }
  return credentials.kind === 'malformed' ? 'Bearer error="invalid_request"' : 'Bearer error="invalid_token"';
}
