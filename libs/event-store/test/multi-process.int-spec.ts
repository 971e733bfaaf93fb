import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

const SUBSCRIBER = 'dist/test/helpers/subscriber-process.js';

interface Handled {
  pid: number;
  eventId: string;
  position: number;
  at: number;
}

/** Three separate Node processes run one persistent subscription: one at a time, and a survivor takes over. */
describe('a persistent subscription across processes', () => {
  const schema = uniqueSchema('multiproc');
  let t: TestStore;
  const children: ChildProcess[] = [];
  const handled: Handled[] = [];

  beforeAll(async () => {
    t = await createTestStore({ schema });
  });
  afterAll(async () => {
    children.forEach((child) => child.kill('SIGKILL'));
    await t.close();
  });

  function startSubscriber(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [SUBSCRIBER], {
      env: { ...process.env, EVENT_STORE_SCHEMA: schema, SUBSCRIPTION: 'shared', STREAM_PREFIX: 'mp-' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let buffered = '';
    return new Promise((resolve, reject) => {
      child.on('exit', (code) => code !== null && code !== 0 && reject(new Error(`subscriber exited with ${code}`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const message = JSON.parse(line) as Partial<Handled> & { ready?: boolean };
          if (message.ready) resolve(child);
          else handled.push({ ...(message as Handled), at: Date.now() });
        }
      });
    });
  }

  it('handles each event once while one process runs it; after a SIGKILL another takes over within 5 s, losing nothing', async () => {
    await Promise.all([startSubscriber(), startSubscriber(), startSubscriber()]);
    const appended: string[] = [];
    const append = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await t.store.appendToStream(`mp-${i % 7}`, 'any', someEvents(1, 'Multi'));
        const [event] = await t.store.readStreamBackward(`mp-${i % 7}`, { maxCount: 1 });
        appended.push(event!.eventId);
        await sleep(5);
      }
    };

    await append(100);
    const until = Date.now() + 10_000;
    while (handled.length < 100 && Date.now() < until) await sleep(20);
    const runners = new Set(handled.map((h) => h.pid));
    expect(runners.size).toBe(1);
    expect(new Set(handled.map((h) => h.eventId)).size).toBe(handled.length);

    const [active] = runners;
    const victim = children.find((child) => child.pid === active)!;
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await append(100);
    const deadline = Date.now() + 15_000;
    while (new Set(handled.map((h) => h.eventId)).size < 200 && Date.now() < deadline) await sleep(20);

    const afterKill = handled.filter((h) => h.pid !== active);
    expect(afterKill.length).toBeGreaterThan(0);
    expect(new Set(afterKill.map((h) => h.pid)).size).toBe(1);
    expect(afterKill[0]!.at - killedAt).toBeLessThan(5_000);
    // Nothing lost: every appended event was handled.
    expect(new Set(handled.map((h) => h.eventId))).toEqual(new Set(appended));
    // At least once: only events after the dead process's last checkpoint (at most one batch) come twice.
    const counts = new Map<string, number>();
    handled.forEach((h) => counts.set(h.eventId, (counts.get(h.eventId) ?? 0) + 1));
    const repeated = [...counts.values()].filter((n) => n > 1).length;
    expect(repeated).toBeLessThanOrEqual(10);
    // In order: the survivor's deliveries follow $all order.
    const positions = afterKill.map((h) => h.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });
});
