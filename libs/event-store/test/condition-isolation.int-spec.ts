import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { testConnection } from '../../../test/helpers/test-database.js';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

/**
 * Append conditions are checked in a statement that begins after the condition's locks are held,
 * which sees every racer that committed meanwhile only under READ COMMITTED. A database whose
 * default isolation is stricter (`ALTER DATABASE ... SET default_transaction_isolation`) would
 * give that statement the snapshot of the call's start, before the wait: the store sets READ
 * COMMITTED on its own connections, so racers still meet.
 */
describe('append conditions on a database whose default isolation is REPEATABLE READ', () => {
  const database = `es_isolation_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Pool({ ...testConnection(), max: 1 });
  let t: TestStore;

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`ALTER DATABASE ${database} SET default_transaction_isolation = 'repeatable read'`);
    t = await createTestStore({ connection: { ...testConnection(), database }, poolSize: 20 }, 'isolation');
  });
  afterAll(async () => {
    await t?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('of 16 racers with the same condition exactly one wins, 10 rounds', async () => {
    for (let round = 0; round < 10; round++) {
      const tags = ['guild:1', `word:w${round}`];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, racer) =>
          t.store.appendToStream(`claim-${round}-${racer}`, 'no_stream', [{ eventType: 'WordClaimed', data: { racer }, tags }], {
            condition: { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags }] },
          }),
        ),
      );
      const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as { code?: string }).code] : []));
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      expect(failures).toEqual(Array(15).fill('APPEND_CONDITION_FAILED'));
    }
  });
});
