import { ScheduleModule } from '@nestjs/schedule';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Module } from '@nestjs/common';
import { SubscribeTo, type RecordedEvent, type Subscription } from '@game-bot/event-store';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

describe('subscriptions', () => {
  const schema = uniqueSchema('subs');
  let t: TestStore;
  let other: TestStore;
  const running: Subscription[] = [];
  const track = (subscription: Subscription): Subscription => (running.push(subscription), subscription);

  beforeAll(async () => {
    t = await createTestStore({ schema, applicationName: 'subs-a' });
    other = await createTestStore({ schema, applicationName: 'subs-b' });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.unsubscribe()));
  });
  afterAll(async () => {
    await other.app.close().then(() => other.sql.end());
    await t.close();
  });

  it('transient $all: catches up from the origin, then delivers new events live, in order', async () => {
    await t.store.appendToStream('s1-a', 'no_stream', someEvents(3, 'S1'));
    // Caught up means: at the end of $all as readers see it, which another test file's open
    // transaction can hold back for a moment (docs/design.md).
    await t.allVisible();
    const seen: RecordedEvent[] = [];
    const subscription = track(t.store.subscribe('$all', (e) => void seen.push(e), { filter: { streamPrefix: 's1-' } }));
    await subscription.waitUntilCaughtUp();
    expect(seen.map((e) => e.data.n)).toEqual([0, 1, 2]);
    await t.store.appendToStream('s1-b', 'no_stream', someEvents(2, 'S1', 3));
    await eventually(() => seen.length === 5);
    expect(seen.map((e) => e.data.n)).toEqual([0, 1, 2, 3, 4]);
    expect(subscription.position).toBe(seen.at(-1)!.globalPosition);
    await subscription.unsubscribe();
    await t.store.appendToStream('s1-b', 2, someEvents(1, 'S1', 5));
    await sleep(100);
    expect(seen).toHaveLength(5);
  });

  it('starts from the origin, the end, or a position/version; filters by type', async () => {
    await t.store.appendToStream('s2', 'no_stream', [...someEvents(2, 'Keep'), ...someEvents(2, 'Skip', 2)]);
    const fromEnd: RecordedEvent[] = [];
    const fromVersion: RecordedEvent[] = [];
    const typed: RecordedEvent[] = [];
    await track(t.store.subscribe('s2', (e) => void fromEnd.push(e), { startFrom: 'end' })).waitUntilCaughtUp();
    await track(t.store.subscribe('s2', (e) => void fromVersion.push(e), { startFrom: 3 })).waitUntilCaughtUp();
    await track(t.store.subscribe('s2', (e) => void typed.push(e), { filter: { eventTypes: ['Keep'] } })).waitUntilCaughtUp();
    expect(fromEnd).toEqual([]);
    expect(fromVersion.map((e) => e.streamVersion)).toEqual([4]);
    expect(typed.map((e) => e.streamVersion)).toEqual([1, 2]);
    await t.store.appendToStream('s2', 4, [...someEvents(1, 'Keep', 4), ...someEvents(1, 'Skip', 5)]);
    await eventually(() => fromEnd.length === 2 && fromVersion.length === 3 && typed.length === 3);
    expect(fromEnd.map((e) => e.streamVersion)).toEqual([5, 6]);
    expect(typed.map((e) => e.eventType)).toEqual(['Keep', 'Keep', 'Keep']);
  });

  it('catch-up switches to live without a gap or a duplicate while 8 writers keep appending', async () => {
    for (let i = 0; i < 5; i++) await t.store.appendToStream(`s3-pre-${i}`, 'no_stream', someEvents(100, 'Pre'));
    const seen: RecordedEvent[] = [];
    const subscription = track(t.store.subscribe('$all', (e) => void seen.push(e), { filter: { streamPrefix: 's3-' }, batchSize: 37 }));
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await t.store.appendToStream(`s3-w${w}`, 'any', someEvents(2, 'Live'));
      }),
    );
    await eventually(() => seen.length >= 900);
    await subscription.waitUntilCaughtUp();
    expect(seen).toHaveLength(900);
    expect(new Set(seen.map((e) => e.eventId)).size).toBe(900);
    await t.allVisible();
    const { events } = await t.store.readAllForward({ filter: { streamPrefix: 's3-' }, maxCount: 10_000 });
    expect(seen.map((e) => e.globalPosition)).toEqual(events.map((e) => e.globalPosition));
  });

  it('a persistent subscription resumes after the last event handled, and its checkpoint never runs ahead', async () => {
    await t.store.appendToStream('s4', 'no_stream', someEvents(30, 'P'));
    const handled: number[] = [];
    const checkpoints: number[] = [];
    const checkpoint = async (): Promise<number> => {
      const { rows } = await t.sql.query(`SELECT checkpoint FROM "${schema}".subscriptions WHERE name = 'resumer'`);
      return Number(rows[0]?.checkpoint ?? 0);
    };
    const first = track(
      t.store.subscribeToStream(
        's4',
        'resumer',
        async (e) => {
          handled.push(e.streamVersion);
          checkpoints.push(await checkpoint());
          await sleep(2);
        },
        { checkpointEvery: 7, checkpointIntervalMs: 50 },
      ),
    );
    await first.waitUntilCaughtUp();
    await first.unsubscribe();
    expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // While an event was being handled, the stored checkpoint was always behind it.
    checkpoints.forEach((stored, i) => expect(stored).toBeLessThan(handled[i]!));
    expect(await checkpoint()).toBe(30);

    await t.store.appendToStream('s4', 30, someEvents(5, 'P', 30));
    const resumed: number[] = [];
    await track(t.store.subscribeToStream('s4', 'resumer', (e) => void resumed.push(e.streamVersion))).waitUntilCaughtUp();
    expect(resumed).toEqual([31, 32, 33, 34, 35]);
  });

  it('events appended while the listening connection is down still arrive; notifications wake subscribers promptly', async () => {
    await t.store.appendToStream('s5', 'no_stream', someEvents(1, 'N'));
    const seen: RecordedEvent[] = [];
    const subscription = track(other.store.subscribe('s5', (e) => void seen.push(e), { pollIntervalMs: 10_000 }));
    await subscription.waitUntilCaughtUp();
    const started = Date.now();
    await t.store.appendToStream('s5', 1, someEvents(1, 'N', 1));
    await eventually(() => seen.length === 2, 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);

    const polling = track(other.store.subscribe('s5', () => undefined, { pollIntervalMs: 200 }));
    await polling.waitUntilCaughtUp();
    const seenWhileDown: RecordedEvent[] = [];
    const watcher = track(other.store.subscribe('s5', (e) => void seenWhileDown.push(e), { startFrom: 'end', pollIntervalMs: 200 }));
    await watcher.waitUntilCaughtUp();
    const killed = await t.sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'subs-b-listener'`);
    expect(killed.rowCount).toBe(1);
    await t.store.appendToStream('s5', 2, someEvents(3, 'N', 2));
    await eventually(() => seenWhileDown.length === 3, 5_000);
    expect(seenWhileDown.map((e) => e.streamVersion)).toEqual([3, 4, 5]);
  });

  it('a failing handler is retried with backoff; past its attempts the subscription halts at that event', async () => {
    await t.store.appendToStream('s6', 'no_stream', someEvents(3, 'F'));
    const attempts: number[] = [];
    const subscription = track(
      t.store.subscribe(
        's6',
        (e) => {
          attempts.push(e.streamVersion);
          if (e.streamVersion === 2) throw new Error('game rules engine is down');
        },
        { retry: { maxAttempts: 3, initialDelayMs: 10 } },
      ),
    );
    await expect(subscription.stopped).rejects.toThrow('game rules engine is down');
    expect(attempts).toEqual([1, 2, 2, 2]);
    expect(subscription.position).toBe(1);
  });

  it('one process at a time runs a persistent subscription; another takes over when it stops, without repeating', async () => {
    await t.store.appendToStream('s7', 'no_stream', someEvents(10, 'L'));
    const byA: number[] = [];
    const byB: number[] = [];
    const a = track(t.store.subscribeToStream('s7', 'leased', (e) => void byA.push(e.streamVersion)));
    await a.waitUntilCaughtUp();
    const b = track(other.store.subscribeToStream('s7', 'leased', (e) => void byB.push(e.streamVersion)));
    await t.store.appendToStream('s7', 10, someEvents(2, 'L', 10));
    await eventually(() => byA.length === 12);
    await sleep(300);
    expect(byB).toEqual([]);
    await a.unsubscribe();
    await t.store.appendToStream('s7', 12, someEvents(2, 'L', 12));
    await eventually(() => byB.length === 2, 8_000);
    expect(byB).toEqual([13, 14]);
    await b.unsubscribe();
    await t.store.deleteSubscription('leased');
    const { rowCount } = await t.sql.query(`SELECT 1 FROM "${schema}".subscriptions WHERE name = 'leased'`);
    expect(rowCount).toBe(0);
  });

  it('refuses a second definition under one name, and bad options', async () => {
    await track(t.store.subscribeToStream('s8', 'defined', () => undefined)).waitUntilCaughtUp();
    // In this process the name is taken; in another, the stored definition refuses the clash.
    expect(() => t.store.subscribeToAll('defined', () => undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const clash = track(other.store.subscribeToAll('defined', () => undefined));
    await expect(clash.stopped).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => t.store.subscribe('$all', () => undefined, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => t.store.subscribe('bad\nid', () => undefined)).toThrow(/control/);
    expect(() => t.store.subscribe('s8', () => undefined, { filter: { streamPrefix: 'x' } })).toThrow(/\$all subscriptions only/);
  });

  it('retries the failed deliveries of several subscriptions side by side: a slow one does not hold the others back', async () => {
    await t.store.appendToStream('side-slow', 'no_stream', someEvents(1, 'S'));
    await t.store.appendToStream('side-fast', 'no_stream', someEvents(1, 'F'));
    const options = { onFailure: 'skip' as const, retry: { maxAttempts: 1 }, failedRetry: { initialDelayMs: 10, maxDelayMs: 10 } };
    let slowCalls = 0;
    let fastCalls = 0;
    let fastDeliveredAt = 0;
    track(
      t.store.subscribeToStream(
        'side-slow',
        'side-slow',
        async () => {
          if (slowCalls++ > 0) await sleep(1_000); // a retry that takes a webhook timeout to fail
          throw new Error('receiver down');
        },
        options,
      ),
    );
    track(
      t.store.subscribeToStream(
        'side-fast',
        'side-fast',
        () => {
          if (fastCalls++ === 0) throw new Error('once');
          fastDeliveredAt = Date.now();
        },
        options,
      ),
    );
    await eventually(
      async () =>
        (await t.store.listFailedDeliveries('side-slow')).length === 1 && (await t.store.listFailedDeliveries('side-fast')).length === 1,
    );
    await sleep(50); // both due
    const started = Date.now();
    const report = await t.store.retryFailedDeliveries();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(fastDeliveredAt - started).toBeLessThan(500);
    expect(report).toMatchObject({ retried: 2, succeeded: 1 });
  });

  it('a failing handler goes through retry, failed delivery, worker retry, dead letter and replay', async () => {
    await t.store.appendToStream('s9', 'no_stream', someEvents(3, 'R'));
    let broken = true;
    const handled: number[] = [];
    const subscription = track(
      t.store.subscribeToStream(
        's9',
        'retrying',
        (e) => {
          if (e.streamVersion === 2 && broken) throw new Error('score service is down');
          handled.push(e.streamVersion);
        },
        {
          onFailure: 'skip',
          retry: { maxAttempts: 2, initialDelayMs: 5 },
          failedRetry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
        },
      ),
    );
    await subscription.waitUntilCaughtUp();
    expect(handled).toEqual([1, 3]);
    const [failed] = await t.store.listFailedDeliveries('retrying');
    expect(failed).toMatchObject({
      streamId: 's9',
      streamVersion: 2,
      attempts: 1,
      status: 'failed',
      lastError: 'Error: score service is down',
    });

    await sleep(5);
    expect(await t.store.retryFailedDeliveries()).toEqual({ retried: 1, succeeded: 0, deadLettered: 0 });
    await sleep(5);
    expect(await t.store.retryFailedDeliveries()).toEqual({ retried: 1, succeeded: 0, deadLettered: 1 });
    expect(await t.store.listFailedDeliveries('retrying', { status: 'dead' })).toMatchObject([
      { streamVersion: 2, attempts: 3, nextAttemptAt: null },
    ]);
    expect(await t.store.retryFailedDeliveries()).toEqual({ retried: 0, succeeded: 0, deadLettered: 0 });

    broken = false;
    expect(await t.store.replayFailedDeliveries('retrying', { status: 'dead' })).toBe(1);
    expect(await t.store.retryFailedDeliveries()).toEqual({ retried: 1, succeeded: 1, deadLettered: 0 });
    expect(handled).toEqual([1, 3, 2]);
    expect(await t.store.listFailedDeliveries('retrying')).toEqual([]);
  });

  it('the scheduled worker retries failed deliveries on its own', async () => {
    const scheduled = await createTestStore({ schema, applicationName: 'subs-scheduled' }, undefined, [ScheduleModule.forRoot()]);
    try {
      await scheduled.store.appendToStream('s10', 'no_stream', someEvents(2, 'W'));
      let failures = 0;
      const handled: number[] = [];
      const subscription = scheduled.store.subscribeToStream(
        's10',
        'scheduled',
        (e) => {
          if (e.streamVersion === 1 && failures++ < 3) throw new Error('not yet');
          handled.push(e.streamVersion);
        },
        { onFailure: 'skip', retry: { maxAttempts: 1 }, failedRetry: { initialDelayMs: 10, maxDelayMs: 10 } },
      );
      await eventually(() => handled.length === 2, 10_000);
      expect(handled).toEqual([2, 1]);
      await subscription.unsubscribe();
    } finally {
      await scheduled.app.close().then(() => scheduled.sql.end());
    }
  });

  it('resets the checkpoint of a stopped subscription to replay history, and refuses while it runs', async () => {
    await t.store.appendToStream('s11', 'no_stream', someEvents(4, 'H'));
    const first = track(t.store.subscribeToStream('s11', 'replayer', () => undefined));
    await first.waitUntilCaughtUp();
    await expect(t.store.resetSubscription('replayer', 0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await first.unsubscribe();
    await t.store.resetSubscription('replayer', 1);
    const replayed: number[] = [];
    await track(t.store.subscribeToStream('s11', 'replayer', (e) => void replayed.push(e.streamVersion))).waitUntilCaughtUp();
    expect(replayed).toEqual([2, 3, 4]);
  });

  it('starts the @SubscribeTo handlers of providers at boot, and stops them at shutdown', async () => {
    const seen: string[] = [];
    @Injectable()
    class Leaderboard {
      readonly scores = new Map<string, number>();
      @SubscribeTo('$all', { name: 'leaderboard', filter: { eventTypes: ['Scored'] } })
      async onScored(event: RecordedEvent): Promise<void> {
        seen.push(event.streamId);
        this.scores.set(event.streamId, (this.scores.get(event.streamId) ?? 0) + (event.data.n as number));
      }
    }
    @Module({ providers: [Leaderboard] })
    class LeaderboardModule {}
    await t.store.appendToStream('s12-p1', 'no_stream', someEvents(3, 'Scored'));
    const app = await createTestStore({ schema, applicationName: 'subs-decorated' }, undefined, [LeaderboardModule]);
    try {
      await app.store.appendToStream('s12-p2', 'no_stream', someEvents(2, 'Scored', 10));
      await eventually(() => seen.length === 5);
      expect(app.app.get(Leaderboard).scores).toEqual(
        new Map([
          ['s12-p1', 3],
          ['s12-p2', 21],
        ]),
      );
    } finally {
      await app.app.close().then(() => app.sql.end());
    }
    const { rows } = await t.sql.query(`SELECT owner, checkpoint FROM "${schema}".subscriptions WHERE name = 'leaderboard'`);
    expect(rows[0].owner).toBeNull();
    expect(Number(rows[0].checkpoint)).toBeGreaterThan(0);
  });
});
