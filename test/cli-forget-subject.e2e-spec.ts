import { randomBytes } from 'node:crypto';
import { runCli } from './helpers/cli.js';
import { testDatabaseEnv } from './helpers/test-database.js';
import { createTestStore, uniqueSchema, type TestStore } from './helpers/test-store.js';

const MASTER_KEY = randomBytes(32).toString('base64');
const personalData = { PlayerRegistered: { subject: 'playerId', fields: ['email'] } };
const registered = (playerId: string, email: string) => ({ eventType: 'PlayerRegistered', data: { playerId, email, region: 'eu' } });

/** `event-store forget-subject ID`, the real binary (built in dist/) on a store of the test database. */
describe('event-store forget-subject', () => {
  let t: TestStore;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const schema = uniqueSchema('cli-forget');
    t = await createTestStore({ schema, personalData, erasure: { masterKey: MASTER_KEY } });
    env = { ...process.env, ...testDatabaseEnv(schema), EVENT_STORE_MASTER_KEY: MASTER_KEY };
    await t.store.appendToStream('player-c1', 'no_stream', [registered('c-1', 'cleo@example.com')]);
    await t.store.appendToStream('player-c2', 'no_stream', [registered('c-2', 'cyril@example.com')]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('forgets the subject: its personal fields read as erased, the other subject stays; a second run changes nothing', async () => {
    const run = await runCli(['forget-subject', 'c-1'], { env });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Forgot subject c-1 at \d{4}-\d\d-\d\dT[\d:.]+Z: its personal data now reads as erased\n$/);
    expect((await t.store.readStreamForward('player-c1'))[0]!.data).toEqual({ playerId: 'c-1', email: { $erased: true }, region: 'eu' });
    expect((await t.store.readStreamForward('player-c2'))[0]!.data).toEqual(registered('c-2', 'cyril@example.com').data);

    const again = await runCli(['forget-subject', 'c-1', '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ subjectId: 'c-1', forgottenAt: expect.any(String), alreadyForgotten: true });
  });

  it('runs under a terminal too', async () => {
    const run = await runCli(['forget-subject', 'c-3'], { env, tty: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Forgot subject c-3 at ');
  });

  it('refuses bad input with one line on stderr and a non-zero exit code, never printing a key', async () => {
    const missing = await runCli(['forget-subject'], { env });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/missing required argument 'subject-id'/);

    const control = await runCli(['forget-subject', 'a\u0007b'], { env });
    expect(control).toMatchObject({ code: 1, stdout: '' });
    expect(control.stderr).toMatch(/^event-store: subjectId must be a string of 1 to 200 characters without control characters\n$/);

    const secret = 'not a key, but a secret all the same';
    const badKey = await runCli(['forget-subject', 'c-2'], { env: { ...env, EVENT_STORE_MASTER_KEY: secret } });
    expect(badKey).toMatchObject({ code: 1, stdout: '' });
    expect(badKey.stderr).toMatch(
      /^event-store: EVENT_STORE_MASTER_KEY must be 32 bytes, as base64 \(44 characters\) or hex \(64 characters\)/,
    );
    expect(badKey.stderr).not.toContain(secret);
    expect(badKey.stderr.trim().split('\n')).toHaveLength(1);
    expect((await t.store.readStreamForward('player-c2'))[0]!.data).toMatchObject({ email: 'cyril@example.com' });
  });
});
