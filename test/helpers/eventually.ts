import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs`, naming `what` it waited for. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
