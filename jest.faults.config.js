/**
 * The fault suite (`npm run test:faults`, `test/faults/*.fault-spec.ts`): the built service on a
 * PostgreSQL cluster that the suite creates, restarts, crashes and removes itself, so no test
 * database is set up here. One file at a time: each drives the whole machine.
 */
import { separateSuite } from './jest.config.js';

export default separateSuite({
  displayName: 'faults',
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  testTimeout: 240_000,
  withDatabase: false,
});
