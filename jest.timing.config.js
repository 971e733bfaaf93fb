/**
 * The timing suite (`npm run test:timing`, `*.timing-spec.ts`): tests whose assertions compare
 * latencies measured in one run (the store with and without a load). They run one file at a time,
 * apart from the main suite, whose parallel files would otherwise be part of what they measure.
 * Same database set-up and ESM set-up as jest.config.js.
 */
import base from './jest.config.js';

const { testEnvironment, extensionsToTreatAsEsm, moduleNameMapper, transform } = base.projects.find(
  (project) => project.displayName === 'integration',
);

export default {
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  testTimeout: base.testTimeout,
  maxWorkers: 1,
  displayName: 'timing',
  testEnvironment,
  extensionsToTreatAsEsm,
  moduleNameMapper,
  transform,
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.timing-spec.ts'],
};
