import { bearerChallenge, bearerCredentials } from './bearer-credentials.js';

describe('bearerCredentials', () => {
  it.each(['Bearer s3cr3t-token', 'bearer s3cr3t-token', 'BEARER s3cr3t-token', 'Bearer   s3cr3t-token  '])(
    'reads the token of %j',
    (header) => {
      expect(bearerCredentials(header)).toEqual({ kind: 'token', token: 's3cr3t-token' });
    },
  );

  it.each(['Bearer s3cr3t-token junk', 'Bearer', 'Bearer '])('refuses %j as malformed', (header) => {
    expect(bearerCredentials(header)).toEqual({ kind: 'malformed' });
  });

  it.each([undefined, '', 'Basic dXNlcjpwYXNz', 'Bearers3cr3t-token'])('finds no bearer credentials in %j', (header) => {
    expect(bearerCredentials(header)).toEqual({ kind: 'none' });
  });

  it('challenges with the error of RFC 6750 that fits', () => {
    expect(bearerChallenge(undefined)).toBe('Bearer');
    expect(bearerChallenge('Basic dXNlcjpwYXNz')).toBe('Bearer');
    expect(bearerChallenge('Bearer a b')).toBe('Bearer error="invalid_request"');
    expect(bearerChallenge('Bearer unknown-token')).toBe('Bearer error="invalid_token"');
  });
});
