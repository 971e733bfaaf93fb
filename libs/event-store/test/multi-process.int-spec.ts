import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

const SUBSCRIBER = 'dist/test/helpers/subscriber-process.js';

interface Handled {
  pid: number;
  eventId: string;
  position: number;
  streamId: string;
  streamVersion: number;
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

  function startSubscriber(
    settings: { subscription: string; prefix: string; partitions?: number } = { subscription: 'shared', prefix: 'mp-' },
    into: Handled[] = handled,
  ): Promise<ChildProcess> {
    const child = spawn(process.execPath, [SUBSCRIBER], {
      env: {
        ...process.env,
        EVENT_STORE_SCHEMA: schema,
        SUBSCRIPTION: settings.subscription,
        STREAM_PREFIX: settings.prefix,
        ...(settings.partitions ? { PARTITIONS: String(settings.partitions) } : {}),
      },
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
          else into.push({ ...(message as Handled), at: Date.now() });
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

  it('a group across three processes: each stream on one process, in order; the streams of a SIGKILLed member move within 5 s, nothing lost', async () => {
    const seen: Handled[] = [];
    const group = { subscription: 'group', prefix: 'gp-', partitions: 6 };
    const members = await Promise.all([startSubscriber(group, seen), startSubscriber(group, seen), startSubscriber(group, seen)]);
    const appended = new Set<string>();
    const appendRound = async (round: number): Promise<void> => {
      for (let i = 0; i < 60; i++) {
        const result = await t.store.appendToStream(`gp-${i % 12}`, 'any', someEvents(1, 'Grouped', round * 100 + i));
        const [event] = await t.store.readStreamForward(`gp-${i % 12}`, { fromVersion: result.toVersion, maxCount: 1 });
        appended.add(event!.eventId);
        await sleep(5);
      }
    };
    const handledAll = async (timeoutMs: number): Promise<void> => {
      const until = Date.now() + timeoutMs;
      while (new Set(seen.map((h) => h.eventId)).size < appended.size && Date.now() < until) await sleep(20);
    };
    // Members meet through heartbeats (every second) before the partitions settle 2/2/2.
    await sleep(3_000);
    await appendRound(0);
    await handledAll(15_000);
    expect(new Set(seen.map((h) => h.pid)).size).toBe(3);
    // Before any crash: each event once, each stream on one process.
    expect(new Set(seen.map((h) => h.eventId)).size).toBe(seen.length);
    for (let stream = 0; stream < 12; stream++) {
      expect(new Set(seen.filter((h) => h.streamId === `gp-${stream}`).map((h) => h.pid)).size).toBe(1);
    }

    const victim = members[0]!;
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const victimStreams = new Set(seen.filter((h) => h.pid === victim.pid).map((h) => h.streamId));
    await appendRound(1);
    await handledAll(20_000);

    expect(new Set(seen.map((h) => h.eventId))).toEqual(appended);
    // Duplicates only after the crash, and only of the dead member's streams (at least once).
    const counts = new Map<string, Handled[]>();
    seen.forEach((h) => counts.set(h.eventId, [...(counts.get(h.eventId) ?? []), h]));
    for (const deliveries of counts.values()) {
      if (deliveries.length > 1) expect(victimStreams.has(deliveries[0]!.streamId)).toBe(true);
    }
    const movedFirst = seen.find((h) => h.at > killedAt && victimStreams.has(h.streamId));
    expect(movedFirst).toBeDefined();
    expect(movedFirst!.pid).not.toBe(victim.pid);
    // Its streams' new events arrive within 5 s of the kill, plus the time to append them.
    expect(movedFirst!.at - killedAt).toBeLessThan(5_000 + 60 * 20);
    for (let stream = 0; stream < 12; stream++) {
      const versions = seen.filter((h) => h.streamId === `gp-${stream}`).map((h) => h.streamVersion);
      const firsts = versions.filter((v, i) => versions.indexOf(v) === i);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
      expect(firsts).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
  });
});
