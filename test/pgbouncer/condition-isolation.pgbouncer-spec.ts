import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { testConnection } from '../helpers/test-database.js';
import { createTestStore, type TestStore } from '../helpers/test-store.js';

/**
 * Append conditions need READ COMMITTED, which the store asks for in the `options` startup
 * parameter; PgBouncer does not forward startup options. Behind it, on a database whose default is
 * REPEATABLE READ, a condition would be checked on the call's first snapshot and racers would get
 * through (measured before the guard: 3 or 4 of 16 racers won each round). The append functions
 * refuse to check a condition under anything but READ COMMITTED, saying what to change.
 */
describe('append conditions behind PgBouncer on a REPEATABLE READ database', () => {
  const database = `es_bouncer_iso_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Pool({ ...testConnection(), max: 1 });
  let bouncer: PgBouncer;
  let t: TestStore;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`ALTER DATABASE ${database} SET default_transaction_isolation = 'repeatable read'`);
    bouncer = await startPgBouncer({ ...testConnection(), database });
    t = await createTestStore({ connection: { ...bouncer.connection, database }, pooler: 'transaction', poolSize: 20 }, 'bouncer_iso');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await bouncer?.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('no racer gets through: conditional appends are refused with STORE_UNAVAILABLE naming the isolation, and store nothing', async () => {
    const tags = ['word:crane', 'guild:1'];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 16 }, (_, racer) =>
        t.store.appendToStream(`claim-${racer}`, 'no_stream', [{ eventType: 'WordClaimed', data: { racer }, tags }], {
          condition: { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags }] },
        }),
      ),
    );
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as { code: string; message: string };
      expect(reason.code).toBe('STORE_UNAVAILABLE');
      expect(reason.message).toMatch(/READ COMMITTED.*repeatable read.*default_transaction_isolation/);
    }
    for (let racer = 0; racer < 16; racer++) {
      await expect(t.store.readStreamForward(`claim-${racer}`)).rejects.toMatchObject({ code: 'STREAM_NOT_FOUND' });
    }
  });

  it('appends without a condition still work there, tagged or not', async () => {
    await t.store.appendToStream('plain', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
    await t.store.appendToStream('tagged', 'no_stream', [{ eventType: 'WordClaimed', data: {}, tags: ['word:slate'] }]);
    expect((await t.store.readStreamForward('tagged'))[0]!.tags).toEqual(['word:slate']);
  });
});
