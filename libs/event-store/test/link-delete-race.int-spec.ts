import { randomUUID } from 'node:crypto';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

/**
 * A link locks the events it links (`FOR KEY SHARE`), a hard delete locks the stream's events
 * (`FOR UPDATE`). Before, the link locked them in the plan's order (by event id) and the delete in
 * version order, so each could hold rows the other wanted next: a deadlock (40P01) in 6 of 40
 * rounds, broken by PostgreSQL after deadlock_timeout (1 s). Both now lock in (stream, version)
 * order. Retries are off here, so that a deadlock would be seen.
 */
describe('linking while the source is hard-deleted', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } }, 'revdeadlock');
  });
  afterAll(async () => {
    await t.close();
  });

  it('never deadlocks', async () => {
    const failures: string[] = [];
    for (let round = 0; round < 40; round++) {
      const source = `source-${round}`;
      const ids = Array.from({ length: 3000 }, () => randomUUID());
      await t.store.appendToStream(
        source,
        'no_stream',
        ids.map((eventId, i) => ({ eventId, eventType: 'Linked', data: { i } })),
      );
      const outcomes = await Promise.allSettled([
        t.store.linkToStream(`target-${round}`, 'any', ids),
        new Promise((resolve) => setTimeout(resolve, round)).then(() => t.store.deleteStream(source, 'any', { mode: 'hard' })),
      ]);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          const error = outcome.reason as { code?: string; message?: string; cause?: { code?: string } };
          failures.push(`${error.code ?? error.cause?.code}: ${error.message}`);
        }
      }
    }
    console.log(failures.map((f) => f.slice(0, 60)));
    expect(failures.filter((failure) => /deadlock/i.test(failure))).toEqual([]);
  }, 120_000);
});
