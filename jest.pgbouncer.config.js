/**
 * The store behind PgBouncer in transaction mode (`npm run test:pgbouncer`). Each spec starts a
 * PgBouncer of its own in front of the test database: the server named by EVENT_STORE_HOST, or the
 * embedded PostgreSQL that the global set-up starts. Needs the `pgbouncer` binary (Debian package
 * `pgbouncer`); without it the specs fail, naming it. Same ESM set-up as jest.config.js.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};

export default {
  globalSetup: './test/helpers/global-setup.js',
  globalTeardown: './test/helpers/global-teardown.js',
  testTimeout: 120_000,
  maxWorkers: 1,
  displayName: 'pgbouncer',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // As in jest.config.js: @fastify/static require()s the ESM-only content-disposition 3.
    '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
  },
  transform,
  testMatch: ['<rootDir>/test/**/*.pgbouncer-spec.ts'],
};
