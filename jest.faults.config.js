/**
 * The fault suite (`npm run test:faults`, `test/faults/*.fault-spec.ts`): the built service on a
 * PostgreSQL cluster that the suite creates, restarts, crashes and removes itself, so no test
 * database is set up here. One file at a time: each drives the whole machine. Same ESM set-up as
 * jest.config.js.
 */
import base from './jest.config.js';

const { testEnvironment, extensionsToTreatAsEsm, moduleNameMapper, transform } = base.projects.find(
  (project) => project.displayName === 'e2e',
);

export default {
  displayName: 'faults',
  testEnvironment,
  extensionsToTreatAsEsm,
  moduleNameMapper,
  transform,
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  testTimeout: 240_000,
  maxWorkers: 1,
};
