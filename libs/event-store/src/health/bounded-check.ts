import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import { EventStoreError } from '../errors/event-store.error.js';
import { classifyFailure } from '../storage/transient-failure.js';

/** A check that has not answered within its time limit. */
class CheckTimedOut extends Error {}

/**
 * What `work` answers, or a {@link CheckTimedOut} once `timeoutMs` has passed. The database
 * calls are bounded too (and cancelled on the server); this also bounds what they do not cover,
 * e.g. TypeORM's migration queries, so that no check holds a health report back.
 */
export async function answerWithin<T>(timeoutMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimedOut()), timeoutMs);
  });
  try {
    return await Promise.race([work(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `down` details of a check that failed: a late answer says so, with the limit (and the store's reason, when it gave one). */
export function checkFailure(error: unknown, timeoutMs: number): Record<string, unknown> {
  const late = { message: `did not answer within ${timeoutMs} ms`, timeoutMs };
  if (error instanceof CheckTimedOut) {
    return late;
  }
  if (error instanceof EventStoreTimeoutError) {
    return { ...late, reason: error.message };
  }
  return (error instanceof EventStoreError ? undefined : rawDatabaseFailure(error)) ?? { message: (error as Error).message };
}

/**
 * A driver's own failure (the migrations check runs through TypeORM's pool, not the store's
 * executor, so nothing has turned it into a store error): said plainly, the driver's text kept as
 * the reason, since "timeout exceeded when trying to connect" alone does not say which timeout.
 */
function rawDatabaseFailure(error: unknown): Record<string, unknown> | undefined {
  const reason = (error as Error | undefined)?.message;
  switch (classifyFailure(error)) {
    case 'timeout':
      return { message: 'no database connection in time: the pool was busy, or the server was slow to answer', reason };
    case 'connection':
      return { message: 'the database cannot be reached', reason };
    default:
      return undefined;
  }
}
