/**
 * The store behind PgBouncer in transaction mode (`npm run test:pgbouncer`). Each spec starts a
 * PgBouncer of its own in front of the test database: the server named by EVENT_STORE_HOST, or the
 * embedded PostgreSQL that the global set-up starts. Needs the `pgbouncer` binary (Debian package
 * `pgbouncer`); without it the specs fail, naming it.
 */
import { separateSuite } from './jest.config.js';

export default separateSuite({
  displayName: 'pgbouncer',
  testMatch: ['<rootDir>/test/**/*.pgbouncer-spec.ts'],
  testTimeout: 120_000,
  withDatabase: true,
});
