import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';

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
  return error instanceof EventStoreTimeoutError ? { ...late, reason: error.message } : { message: (error as Error).message };
}
