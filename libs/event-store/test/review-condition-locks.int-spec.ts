import { randomUUID } from 'node:crypto';
import { EventStoreTimeoutError, type EventData } from '@game-bot/event-store';
import type pg from 'pg';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

/**
 * Review: a condition item with several tags locks `type|tag₀` with tag₀ the item's *byte-smallest*
 * tag. For the guide's own example (`['guild:7', 'word:crane']`) tag₀ is `guild:7`, so every
 * claim of every word in guild 7 takes the same exclusive key: claims of different words, which
 * cannot conflict, wait for each other. docs/consistency.md: "Appends whose conditions cannot match
 * each other's events (another word, another guild) do not wait for each other."
 */
describe('review: conditions on unrelated tags', () => {
  let t: TestStore;
  let open: pg.PoolClient;

  beforeAll(async () => {
    t = await createTestStore({}, 'revcondlock');
  });
  afterAll(async () => {
    await t.close();
  });

  const claimOf = (guild: string, word: string): EventData => ({
    eventType: 'WordClaimed',
    data: { word },
    tags: [`guild:${guild}`, `word:${word}`],
  });
  const unclaimed = (guild: string, word: string) => ({
    failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: [`guild:${guild}`, `word:${word}`] }],
  });

  /** A claim of `word` in guild 7, made by the store's own function, left uncommitted. */
  async function holdClaim(word: string): Promise<void> {
    open = await t.sql.connect();
    await open.query('BEGIN');
    const events = [
      {
        event_id: randomUUID(),
        event_type: 'WordClaimed',
        schema_version: 1,
        data: { word },
        metadata: {},
        causation_id: null,
        correlation_id: null,
        tags: ['guild:7', `word:${word}`],
      },
    ];
    const condition = { items: [{ event_types: ['WordClaimed'], tags: ['guild:7', `word:${word}`] }], after: 0 };
    await open.query(`SELECT * FROM "${t.schema}".append_tagged($1, -1, $2::json, $3::json)`, [
      `game-${randomUUID()}`,
      JSON.stringify(events),
      JSON.stringify(condition),
    ]);
  }

  async function release(): Promise<void> {
    await open.query('ROLLBACK');
    open.release();
  }

  it('a claim of another guild does not wait (control)', async () => {
    await holdClaim('crane');
    try {
      await expect(
        t.store.appendToStream(`game-${randomUUID()}`, 'any', [claimOf('8', 'crane')], { condition: unclaimed('8', 'crane'), timeoutMs: 1500 }),
      ).resolves.toMatchObject({ fromVersion: 1 });
    } finally {
      await release();
    }
  });

  it('a claim of another word in the same guild does not wait for an open claim of "crane"', async () => {
    await holdClaim('crane');
    try {
      const started = Date.now();
      const outcome = await t.store
        .appendToStream(`game-${randomUUID()}`, 'any', [claimOf('7', 'apple')], { condition: unclaimed('7', 'apple'), timeoutMs: 1500 })
        .catch((error: unknown) => error);
      console.log(`claim of "apple" in guild 7: ${outcome instanceof Error ? outcome.name : 'stored'} after ${Date.now() - started} ms`);
      expect(outcome).not.toBeInstanceOf(EventStoreTimeoutError);
    } finally {
      await release();
    }
  });

  it('even a plain (unconditional) tagged write of another word in the same guild waits', async () => {
    await holdClaim('crane');
    try {
      const outcome = await t.store
        .appendToStream(`game-${randomUUID()}`, 'any', [claimOf('7', 'pear')], { timeoutMs: 1500 })
        .catch((error: unknown) => error);
      expect(outcome).not.toBeInstanceOf(EventStoreTimeoutError);
    } finally {
      await release();
    }
  });

  it('the check of a new word costs in proportion to the claims of the whole guild (tag₀ = guild), not to the claims of that word', async () => {
    // 20,000 claims of distinct words in guild 70, 200 streams of 100.
    for (let batch = 0; batch < 20; batch++) {
      await t.store.appendToStreams(
        Array.from({ length: 10 }, (_, s) => ({
          streamId: `bulk-${batch}-${s}`,
          expectedVersion: 'any' as const,
          events: Array.from({ length: 100 }, (_, i) => claimOf('70', `w${batch}-${s}-${i}`)),
        })),
      );
    }
    const time = async (guild: string): Promise<number> => {
      const runs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        await t.store.appendToStream(`game-${randomUUID()}`, 'any', [claimOf(guild, `fresh-${i}`)], { condition: unclaimed(guild, `fresh-${i}`) });
        runs.push(performance.now() - started);
      }
      return runs.sort((a, b) => a - b)[10]!;
    };
    const busy = await time('70');
    const quiet = await time('71');
    console.log(`median conditional claim: guild with 20,000 claims ${busy.toFixed(2)} ms, empty guild ${quiet.toFixed(2)} ms`);
    expect(busy).toBeLessThan(quiet * 3);
  });
});
