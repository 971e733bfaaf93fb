import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';
import { PostgresCluster } from '../../../test/helpers/postgres-cluster.js';

/**
 * Review: appendToStreams takes one advisory lock per entry (step 1), uncapped, and accepts up to
 * maxAppendEvents (10,000) entries. On a server with PostgreSQL's defaults (max_connections 100,
 * max_locks_per_transaction 64) that runs the shared lock table out, the very failure the
 * MAX_SHARED_TAG_LOCKS cap was made for. Runs on a cluster of its own so that no other test is hit.
 */
describe('review: appendToStreams with many entries', () => {
  let cluster: PostgresCluster;
  let t: TestStore;

  beforeAll(async () => {
    cluster = await PostgresCluster.start();
    // PostgreSQL's own default (the helper raises it to 200).
    await appendFile(join(cluster.dataDir, 'postgresql.conf'), '\nmax_connections = 100\n');
    await cluster.restart();
    t = await createTestStore({ connection: { ...cluster.connection, database: 'postgres' }, poolSize: 4 }, 'revmany');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await cluster?.destroy();
  });

  it('two concurrent calls of 10,000 entries of one event each (within maxAppendEvents) are stored, and other sessions keep working', async () => {
    const { rows } = await t.sql.query<{ max_connections: string }>('SHOW max_connections');
    console.log('max_connections', rows[0]!.max_connections);
    const entries = (label: string) =>
      Array.from({ length: 10_000 }, (_, i) => ({
        streamId: `many-${label}-${i}`,
        expectedVersion: 'any' as const,
        events: [{ eventType: 'Many', data: { i } }],
      }));
    // Another session that needs locks of its own while the big append runs.
    const other = new pg.Client({ ...cluster.connection });
    await other.connect();
    const bystander = (async () => {
      const failures: string[] = [];
      for (let i = 0; i < 200; i++) {
        try {
          await other.query('BEGIN');
          await other.query(`SELECT pg_advisory_xact_lock(1, ${i})`);
          await other.query('CREATE TEMP TABLE IF NOT EXISTS bystander (x int) ON COMMIT DROP');
          await other.query('COMMIT');
        } catch (error) {
          failures.push((error as Error).message);
          await other.query('ROLLBACK').catch(() => undefined);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return failures;
    })();
    const outcomes = await Promise.all(
      ['a', 'b'].map((label) => t.store.appendToStreams(entries(label)).then(() => 'stored' as const, (error: unknown) => error)),
    );
    const outcome = outcomes.find((o) => o instanceof Error) ?? 'stored';
    const failures = await bystander;
    await other.end();
    console.log('append outcome:', outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : 'stored');
    console.log('bystander failures:', failures.length, failures[0]);
    expect(outcome).not.toBeInstanceOf(Error);
    expect(failures).toEqual([]);
  }, 300_000);
});
