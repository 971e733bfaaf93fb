import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';
import { testConnection } from '../../../test/helpers/test-database.js';

/**
 * Every append path takes its stream lock before any tag or type lock (one order everywhere, so
 * no two appends wait for each other in a circle). While the stream
 * lock is held elsewhere, the waiting append must hold no tag-space lock (objsubid = 2).
 */
describe('lock order of every append path', () => {
  let t: TestStore;
  let holder: pg.Client;
  let seed: number;

  beforeAll(async () => {
    t = await createTestStore({}, 'revlock');
    seed = createHash('sha256').update(`"${t.schema}"`).digest().readInt32BE(0);
    holder = new pg.Client(testConnection());
    await holder.connect();
  });
  afterAll(async () => {
    await holder.end();
    await t.close();
  });

  async function streamKey(streamId: string): Promise<bigint> {
    const { rows } = await t.sql.query<{ k: string }>(`SELECT hashtextextended($1, $2)::text AS k`, [streamId, seed]);
    return BigInt(rows[0]!.k);
  }

  /** Holds the stream lock, starts `append`, returns the tag locks the waiting backend already holds. */
  async function tagLocksWhileWaiting(streamId: string, append: () => Promise<unknown>): Promise<number> {
    const key = await streamKey(streamId);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [key.toString()]);
    const hi = Number(BigInt.asIntN(32, key >> 32n));
    const lo = Number(BigInt.asUintN(32, key));
    const pending = append().catch((error: unknown) => error);
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      await sleep(10);
      const { rows } = await t.sql.query<{ pid: number }>(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
            AND classid::bigint = ($1::bigint & 4294967295) AND objid::bigint = $2::bigint`,
        [hi, lo],
      );
      pid = rows[0]?.pid;
    }
    expect(pid).toBeDefined();
    const { rows } = await t.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted AND objsubid = 2`,
      [pid],
    );
    await holder.query('COMMIT');
    const outcome = await pending;
    if (outcome instanceof Error) throw outcome;
    return rows[0]!.n;
  }

  const ev = (tags?: string[]) => ({ eventType: 'Locked', data: {}, ...(tags && { tags }) });

  it('one-statement append of one event', async () => {
    await t.store.appendToStream('s1', 'any', [ev()]);
    expect(await tagLocksWhileWaiting('s1', () => t.store.appendToStream('s1', 'any', [ev()]))).toBe(0);
  });

  it('one-statement append of several events', async () => {
    await t.store.appendToStream('s2', 'any', [ev()]);
    expect(await tagLocksWhileWaiting('s2', () => t.store.appendToStream('s2', 'any', [ev(), ev()]))).toBe(0);
  });

  it('the one-statement first event of a new stream (no_stream, then any)', async () => {
    expect(await tagLocksWhileWaiting('s3', () => t.store.appendToStream('s3', 'no_stream', [ev()]))).toBe(0);
    expect(await tagLocksWhileWaiting('s3-any', () => t.store.appendToStream('s3-any', 'any', [ev()]))).toBe(0);
  });

  it('append_to_stream (a new stream, several events)', async () => {
    expect(await tagLocksWhileWaiting('s3-many', () => t.store.appendToStream('s3-many', 'no_stream', [ev(), ev()]))).toBe(0);
  });

  it('append_tagged', async () => {
    expect(await tagLocksWhileWaiting('s4', () => t.store.appendToStream('s4', 'any', [ev(['a', 'b'])]))).toBe(0);
  });

  it('append_tagged with a condition', async () => {
    expect(
      await tagLocksWhileWaiting('s5', () =>
        t.store.appendToStream('s5', 'any', [ev(['c'])], { condition: { failIfEventsMatch: [{ tags: ['zz'] }] } }),
      ),
    ).toBe(0);
  });

  it('append_to_streams', async () => {
    expect(
      await tagLocksWhileWaiting('s6', () =>
        t.store.appendToStreams(
          [
            { streamId: 's6', expectedVersion: 'any', events: [ev(['d'])] },
            { streamId: `other-${randomUUID()}`, expectedVersion: 'any', events: [ev()] },
          ],
          { condition: { failIfEventsMatch: [{ eventTypes: ['Nope'] }] } },
        ),
      ),
    ).toBe(0);
  });
});
