/**
 * The store behind PgBouncer in transaction mode (`npm run test:pgbouncer`). Each spec starts a
 * PgBouncer of its own in front of the test database: the server named by EVENT_STORE_HOST, or the
 * embedded PostgreSQL that the global set-up starts. Needs the `pgbouncer` binary (Debian package
 * `pgbouncer`); without it the specs fail, naming it. Same ESM set-up as jest.config.js.
 */
import base from './jest.config.js';

const { testEnvironment, extensionsToTreatAsEsm, moduleNameMapper, transform } = base.projects.find(
  (project) => project.displayName === 'e2e',
);

export default {
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  testTimeout: base.testTimeout,
  maxWorkers: 1,
  displayName: 'pgbouncer',
  testEnvironment,
  extensionsToTreatAsEsm,
  moduleNameMapper,
  transform,
  testMatch: ['<rootDir>/test/**/*.pgbouncer-spec.ts'],
};
