/**
 * The browser suite (`npm run test:browser`, `*.browser-spec.ts`): the admin console in Debian's
 * Chromium (`/usr/bin/chromium`, or CHROMIUM_PATH), driven by playwright-core, one file at a time.
 */
import { separateSuite } from './jest.config.js';

export default separateSuite({
  displayName: 'browser',
  testMatch: ['<rootDir>/test/**/*.browser-spec.ts'],
  testTimeout: 120_000,
  withDatabase: true,
});
