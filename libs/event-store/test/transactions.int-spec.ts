import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppendConditionFailedError,
  EventStoreTimeoutError,
  InvalidArgumentError,
  WrongExpectedVersionError,
  type AppendCondition,
  type EventData,
  type RecordedEvent,
  type StoreTransaction,
} from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

const claimOf = (word: string): EventData => ({ eventType: 'WordClaimed', data: { word }, tags: [`word:${word}`] });
const unclaimed = (word: string): AppendCondition => ({ failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags: [`word:${word}`] }] });

describe('store.transaction', () => {
  let t: TestStore;
  let n = 0;
  const fresh = (label = 'stream'): string => `${label}-${++n}`;
  let outbox: string;

  beforeAll(async () => {
    t = await createTestStore({ poolSize: 24 }, 'transactions');
    outbox = `"${t.schema}".outbox`;
    await t.sql.query(`CREATE TABLE ${outbox} (id serial PRIMARY KEY, topic text NOT NULL UNIQUE)`);
  });
  afterAll(async () => {
    await t.close();
  });

  async function outboxTopics(): Promise<string[]> {
    const { rows } = await t.sql.query<{ topic: string }>(`SELECT topic FROM ${outbox} ORDER BY id`);
    return rows.map((row) => row.topic);
  }

  async function storedIn(streamId: string): Promise<number> {
    const { rows } = await t.sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${t.schema}".events WHERE stream_id = $1`, [streamId]);
    return Number(rows[0]!.n);
  }

  describe('commit and rollback', () => {
    it('commits the appends and the caller’s own rows together, and returns what the work resolved to', async () => {
      const streamId = fresh('game');
      const topic = `${streamId}-started`;
      const result = await t.store.transaction(async (tx) => {
        const appended = await tx.appendToStream(streamId, 'no_stream', someEvents(2));
        const inserted = await tx.query<{ id: number }>(`INSERT INTO ${outbox} (topic) VALUES ($1) RETURNING id`, [topic]);
        expect(inserted.rowCount).toBe(1);
        return appended;
      });
      expect(result).toMatchObject({ streamId, fromVersion: 1, toVersion: 2 });
      expect((await t.store.readStreamForward(streamId)).map((e) => e.streamVersion)).toEqual([1, 2]);
      expect(await outboxTopics()).toContain(topic);
    });

    it('rolls everything back when the work throws, and rethrows that very error', async () => {
      const streamId = fresh('game');
      const topic = `${streamId}-started`;
      const failure = new Error('the bot crashed');
      const outcome = t.store.transaction(async (tx) => {
        await tx.appendToStream(streamId, 'no_stream', someEvents(2));
        await tx.appendToStreams([{ streamId: `${streamId}-side`, expectedVersion: 'any', events: someEvents(1) }]);
        await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]);
        throw failure;
      });
      await expect(outcome).rejects.toBe(failure);
      expect(await storedIn(streamId)).toBe(0);
      expect(await storedIn(`${streamId}-side`)).toBe(0);
      expect(await t.store.streamExists(streamId)).toBe(false);
      expect(await outboxTopics()).not.toContain(topic);
    });

    it('several appends and appendToStreams in one transaction commit as one write', async () => {
      const [a, b] = [fresh('a'), fresh('b')];
      await t.store.transaction(async (tx) => {
        await tx.appendToStream(a, 'no_stream', someEvents(1));
        await tx.appendToStream(a, 1, someEvents(1, 'Tested', 1));
        const { streams } = await tx.appendToStreams([
          { streamId: a, expectedVersion: 2, events: someEvents(1, 'Tested', 2) },
          { streamId: b, expectedVersion: 'no_stream', events: someEvents(2) },
        ]);
        expect(streams.map((s) => [s.streamId, s.fromVersion, s.toVersion])).toEqual([
          [a, 3, 3],
          [b, 1, 2],
        ]);
      });
      expect((await t.store.readStreamForward(a)).map((e) => (e.data as { n: number }).n)).toEqual([0, 1, 2]);
      expect(await t.store.endOf(b)).toBe(2);
    });

    it('wakes subscribers only after the commit', async () => {
      const streamId = fresh('game');
      const seen: RecordedEvent[] = [];
      const subscription = t.store.subscribe(streamId, (event) => void seen.push(event), { startFrom: 0 });
      try {
        await t.store.transaction(async (tx) => {
          await tx.appendToStream(streamId, 'no_stream', someEvents(1));
          await sleep(300);
          expect(seen).toHaveLength(0);
        });
        // The poll fallback runs every second: far sooner means the commit's own wake-up.
        const committed = Date.now();
        await eventually(() => seen.length === 1);
        expect(Date.now() - committed).toBeLessThan(500);
      } finally {
        await t.store.unsubscribe(subscription);
      }
    });
  });

  describe('errors', () => {
    it('an append inside throws the store’s errors, with the same validation as EventStore’s', async () => {
      const streamId = fresh('game');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(2));
      await expect(t.store.transaction((tx) => tx.appendToStream(streamId, 5, someEvents(1)))).rejects.toMatchObject({
        code: 'WRONG_EXPECTED_VERSION',
        details: { streamId, expectedVersion: 5, actualVersion: 2 },
      });
      await expect(t.store.transaction((tx) => tx.appendToStream('$all', 'any', someEvents(1)))).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(t.store.transaction((tx) => tx.appendToStream(streamId, 'any', []))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(t.store.transaction((tx) => tx.appendToStream(streamId, 'sometimes' as never, someEvents(1)))).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        t.store.transaction((tx) =>
          tx.appendToStreams([
            { streamId: 'x', expectedVersion: 'any' },
            { streamId: 'x', expectedVersion: 'any' },
          ]),
        ),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { 'streams[1].streamId': 'x' } });
      await expect(t.store.transaction((tx) => tx.appendToStream(fresh('none'), 'stream_exists', someEvents(1)))).rejects.toMatchObject({
        code: 'STREAM_NOT_FOUND',
      });
      const duplicate = (await t.store.readStreamForward(streamId))[0]!.eventId;
      await expect(
        t.store.transaction((tx) => tx.appendToStream(fresh('other'), 'any', [{ eventId: duplicate, eventType: 'Tested', data: {} }])),
      ).rejects.toMatchObject({ code: 'DUPLICATE_EVENT' });
      expect(await storedIn(streamId)).toBe(2);
    });

    it('a failed append that the work swallows still fails the transaction: nothing is committed behind the caller’s back', async () => {
      const streamId = fresh('game');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1));
      const topic = `${streamId}-swallowed`;
      const outcome = t.store.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]);
        await tx.appendToStream(streamId, 'no_stream', someEvents(1)).catch(() => undefined);
        return 'done';
      });
      await expect(outcome).rejects.toBeInstanceOf(WrongExpectedVersionError);
      expect(await outboxTopics()).not.toContain(topic);
    });

    it('a call the work did not await fails the transaction, nothing committed: never a silent rollback, never half a work', async () => {
      const topic = fresh('topic');
      const late = `DO $$ BEGIN PERFORM pg_sleep(0.1); RAISE EXCEPTION 'late failure'; END $$`;
      const failing = t.store.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]);
        void tx.query(late).catch(() => undefined);
        return 'resolved';
      });
      await expect(failing).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/await every/) });
      expect(await outboxTopics()).not.toContain(topic);

      // Even when that call succeeds: the work after it (a .then of its own) would be refused, half of it committed.
      const streamId = fresh('game');
      const unawaited = t.store.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [`${topic}-2`]);
        void tx.appendToStream(streamId, 'no_stream', someEvents(1)).catch(() => undefined);
      });
      await expect(unawaited).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await outboxTopics()).not.toContain(`${topic}-2`);
      expect(await storedIn(streamId)).toBe(0);
    });

    it('a failure caught under a SAVEPOINT leaves the rest of the transaction to commit', async () => {
      const streamId = fresh('game');
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1));
      const topic = `${streamId}-recovered`;
      await t.store.transaction(async (tx) => {
        await tx.query('SAVEPOINT try_append');
        const failed = await tx.appendToStream(streamId, 'no_stream', someEvents(1)).catch((error: unknown) => error);
        expect(failed).toBeInstanceOf(WrongExpectedVersionError);
        await tx.query('ROLLBACK TO SAVEPOINT try_append');
        await tx.appendToStream(streamId, 1, someEvents(1));
        await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]);
      });
      expect(await t.store.endOf(streamId)).toBe(2);
      expect(await outboxTopics()).toContain(topic);
    });

    it('the caller’s own SQL errors come out as PostgreSQL raised them', async () => {
      const topic = fresh('topic');
      await t.store.transaction((tx) => tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]));
      await expect(t.store.transaction((tx) => tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [topic]))).rejects.toMatchObject({
        code: '23505',
      });
      await expect(t.store.transaction((tx) => tx.query('SELECT * FROM no_such_table'))).rejects.toMatchObject({ code: '42P01' });
    });

    it('refuses to end the transaction behind its back, and refuses a tx used after its callback', async () => {
      await expect(t.store.transaction((tx) => tx.query('COMMIT'))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(t.store.transaction((tx) => tx.query('  rollback'))).rejects.toBeInstanceOf(InvalidArgumentError);
      let kept: StoreTransaction | undefined;
      await t.store.transaction(async (tx) => {
        kept = tx;
      });
      await expect(kept!.appendToStream(fresh('late'), 'any', someEvents(1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(kept!.query('SELECT 1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('refuses a nested store.transaction, clearly, and the outer one goes on', async () => {
      const streamId = fresh('game');
      let nested: unknown;
      await t.store.transaction(async (tx) => {
        await tx.appendToStream(streamId, 'no_stream', someEvents(1));
        nested = await t.store.transaction(async () => 'inner').catch((error: unknown) => error);
      });
      expect(nested).toBeInstanceOf(InvalidArgumentError);
      expect((nested as Error).message).toMatch(/cannot be nested.*use its tx/);
      expect(await t.store.endOf(streamId)).toBe(1);
      // After the outer one has ended, another transaction is fine, also from the same async context.
      await expect(t.store.transaction(async () => 'later')).resolves.toBe('later');
    });
  });

  describe('retries', () => {
    it('a transaction PostgreSQL rolls back (a deadlock) runs again in a new transaction, and both commit once', async () => {
      const locks = `"${t.schema}".locks`;
      await t.sql.query(`CREATE TABLE ${locks} (name text PRIMARY KEY, n integer NOT NULL)`);
      await t.sql.query(`INSERT INTO ${locks} VALUES ('a', 0), ('b', 0)`);
      const streamId = fresh('deadlocked');
      let runs = 0;
      const crossing = (first: string, second: string) =>
        t.store.transaction(async (tx) => {
          runs++;
          await tx.query(`UPDATE ${locks} SET n = n + 1 WHERE name = $1`, [first]);
          await sleep(200);
          await tx.query(`UPDATE ${locks} SET n = n + 1 WHERE name = $1`, [second]);
          await tx.appendToStream(streamId, 'any', someEvents(1));
        });
      await Promise.all([crossing('a', 'b'), crossing('b', 'a')]);
      expect(runs).toBe(3);
      const { rows } = await t.sql.query<{ n: number }>(`SELECT n FROM ${locks} ORDER BY name`);
      expect(rows.map((row) => row.n)).toEqual([2, 2]);
      expect(await storedIn(streamId)).toBe(2);
    });
  });

  describe('timeouts', () => {
    it('a work that outlives timeoutMs is rolled back and fails with TIMEOUT', async () => {
      const streamId = fresh('slow');
      const started = Date.now();
      const outcome = t.store.transaction(
        async (tx) => {
          await tx.appendToStream(streamId, 'no_stream', someEvents(1));
          await sleep(2_000);
        },
        { timeoutMs: 300 },
      );
      await expect(outcome).rejects.toBeInstanceOf(EventStoreTimeoutError);
      expect(Date.now() - started).toBeLessThan(1_500);
      expect(await storedIn(streamId)).toBe(0);
    });

    it('a statement still running at the deadline is cancelled: TIMEOUT, nothing stored', async () => {
      const streamId = fresh('slow');
      const started = Date.now();
      const outcome = t.store.transaction(
        async (tx) => {
          await tx.appendToStream(streamId, 'no_stream', someEvents(1));
          await tx.query('SELECT pg_sleep(5)');
        },
        { timeoutMs: 400 },
      );
      await expect(outcome).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(await storedIn(streamId)).toBe(0);
      // The stream's lock went with the transaction: a plain append goes through at once.
      await t.store.appendToStream(streamId, 'no_stream', someEvents(1), { timeoutMs: 2_000 });
    });

    it('refuses a bad timeoutMs', async () => {
      await expect(t.store.transaction(async () => 1, { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('conditions', () => {
    it('a condition inside a transaction: of 12 racing transactions claiming one word, exactly one commits, with its outbox row', async () => {
      const word = `crane${++n}`;
      const settled = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          t.store.transaction(async (tx) => {
            await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [`${word}-claimed-by-${i}`]);
            await tx.appendToStream(fresh('player'), 'any', [claimOf(word)], { condition: unclaimed(word) });
            return i;
          }),
        ),
      );
      const won = settled.filter((s) => s.status === 'fulfilled');
      const lost = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.map((s) => s.reason as unknown).every((e) => e instanceof AppendConditionFailedError)).toBe(true);
      const winner = (won[0] as PromiseFulfilledResult<number>).value;
      expect((await outboxTopics()).filter((topic) => topic.startsWith(`${word}-`))).toEqual([`${word}-claimed-by-${winner}`]);
      await t.allVisible();
      expect((await t.store.readAllForward({ filter: { tags: [`word:${word}`] } })).events).toHaveLength(1);
    });
  });

  describe('$all order', () => {
    /**
     * A transaction that wrote before appending already has its transaction id: without the store's
     * check, a plain append committed to the stream meanwhile (a larger id) would come after the
     * transaction's later version in $all. Transactional writers (a write first, a pause, then the
     * append) race plain writers on the same streams.
     */
    it('transactional appends after a write, racing plain appends: each stream’s versions in increasing order in $all', async () => {
      const streams = [fresh('contended'), fresh('contended'), fresh('contended')];
      const ROUNDS = 25;
      let runs = 0;
      const transactional = (w: number) => async () => {
        for (let i = 0; i < ROUNDS; i++) {
          await t.store.transaction(async (tx) => {
            runs++;
            await tx.query(`INSERT INTO ${outbox} (topic) VALUES ($1)`, [`tx-${w}-${i}-${randomUUID()}`]);
            await sleep(Math.random() * 4);
            await tx.appendToStream(streams[(w + i) % streams.length]!, 'any', someEvents(1 + (i % 2), 'InTransaction'));
          });
        }
      };
      const plain = (w: number) => async () => {
        for (let i = 0; i < ROUNDS * 2; i++) {
          await t.store.appendToStream(streams[(w + i) % streams.length]!, 'any', someEvents(1, 'Plain'));
        }
      };
      await Promise.all([...Array.from({ length: 6 }, (_, w) => transactional(w)()), ...Array.from({ length: 6 }, (_, w) => plain(w)())]);

      // Many runs met a later commit and ran again (about 100 of 150 here): the check did its work.
      expect(runs).toBeGreaterThan(6 * ROUNDS);
      await t.allVisible();
      const all = await readWholeAll();
      for (const streamId of streams) {
        const versions = all.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => i + 1));
      }
      const total = all.filter((e) => streams.includes(e.streamId));
      expect(total.filter((e) => e.eventType === 'InTransaction')).toHaveLength(6 * (ROUNDS + Math.floor(ROUNDS / 2)));
      expect(total.filter((e) => e.eventType === 'Plain')).toHaveLength(6 * ROUNDS * 2);
    });
  });

  async function readWholeAll(): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    let fromPosition = 0;
    for (;;) {
      const page = await t.store.readAllForward({ fromPosition, maxCount: 1_000 });
      events.push(...page.events);
      if (page.events.length === 0 || page.nextFromPosition === null) return events;
      fromPosition = page.nextFromPosition;
    }
  }
});
