/**
 * The timing suite (`npm run test:timing`, `*.timing-spec.ts`): tests whose assertions compare
 * latencies measured in one run (the store with and without a load). They run one file at a time,
 * apart from the main suite, whose parallel files would otherwise be part of what they measure.
 */
import { separateSuite } from './jest.config.js';

export default separateSuite({
  displayName: 'timing',
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.timing-spec.ts'],
  testTimeout: 120_000,
  withDatabase: true,
});
