/**
 * Jest runs in ESM mode (NestJS 12 is ESM-only): `npm test` sets --experimental-vm-modules.
 * One embedded PostgreSQL serves the whole run unless EVENT_STORE_HOST names a server; each test
 * file then works in a schema of its own, so files run in parallel.
 */
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @fastify/static (the OpenAPI UI on Fastify) require()s content-disposition 3, which is
    // ESM-only: Node 20 loads it, Jest on Node 20 cannot. Version 2 (a dev dependency, CommonJS)
    // has the same API.
    '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
  },
  transform,
};

/**
 * A suite run apart from this one (`jest -c jest.<name>.config.js`), one file at a time, with the
 * same ESM set-up; `withDatabase` gives it this run's global set-up (the test database).
 */
export function separateSuite({ displayName, testMatch, testTimeout, withDatabase }) {
  return {
    ...(withDatabase ? { globalSetup: './test/helpers/global-setup.js', globalTeardown: './test/helpers/global-teardown.js' } : {}),
    ...common,
    displayName,
    testMatch,
    testTimeout,
    maxWorkers: 1,
  };
}

export default {
  globalSetup: './test/helpers/global-setup.js',
  globalTeardown: './test/helpers/global-teardown.js',
  testTimeout: 120_000,
  maxWorkers: 2,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,migrations}/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,migrations,test}/**/*.int-spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
