import { setTimeout as sleep } from 'node:timers/promises';
import { jest } from '@jest/globals';
import { SchedulerRegistry } from '@nestjs/schedule';
import pg from 'pg';
import request from 'supertest';
import { EventStore } from '@game-bot/event-store';
import { loadServiceConfig } from '../apps/event-store-service/src/configuration/service-config.js';
import { SCAVENGE_JOB, ScavengeJob } from '../apps/event-store-service/src/retention/scavenge.job.js';
import { eventually } from './helpers/eventually.js';
import { listeningUrl, openEventStream } from './helpers/sse-client.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { testConnection } from './helpers/test-database.js';

const events = (count: number) => Array.from({ length: count }, (_, n) => ({ eventType: 'Said', data: { n } }));
const versions = (list: Array<Record<string, unknown>>) => list.map((event) => event.streamVersion);

/** Retention over HTTP and the service's scheduled scavenger (EVENT_STORE_SCAVENGE_INTERVAL_SECONDS). */
describe('retention in the service', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  const stored = async (app: TestApp, streamId: string): Promise<number> =>
    (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${app.schema}".events WHERE stream_id = $1`, [streamId])).rows[0]!.n;

  afterAll(async () => {
    await sql.end();
  });

  describe('with the job on (every second)', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({ EVENT_STORE_SCAVENGE_INTERVAL_SECONDS: '1', EVENT_STORE_SCAVENGE_BATCH_SIZE: '3' }, 'retention_on');
    });
    afterAll(async () => {
      await t.close();
    });

    it('refuses a bad retention key over HTTP as 400 INVALID_ARGUMENT naming it', async () => {
      await request(t.http)
        .post('/streams/chat-bad/events')
        .send({ expectedVersion: 'no_stream', events: events(1) })
        .expect(201);
      const refused = await request(t.http).put('/streams/chat-bad/metadata').send({ $maxCount: 0 });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('metadata.$maxCount must be an integer >= 1'),
        details: { 'metadata.$maxCount': 0 },
      });
    });

    it('honours the keys at once in HTTP reads and the SSE stream route, then the job removes the rest', async () => {
      await request(t.http)
        .post('/streams/chat-1/events')
        .send({ expectedVersion: 'no_stream', events: events(10) })
        .expect(201);
      const job = t.app.get(ScavengeJob);
      const runsBefore = job.stats.runs;
      await request(t.http).put('/streams/chat-1/metadata').send({ $maxCount: 2, topic: 'dice' }).expect(200);

      const page = await request(t.http).get('/streams/chat-1/events?direction=forward');
      expect(versions(page.body.events)).toEqual([9, 10]);
      const backward = await request(t.http).get('/streams/chat-1/events?direction=backward&limit=5');
      expect(versions(backward.body.events)).toEqual([10, 9]);
      const live = await openEventStream(`${await listeningUrl(t.http)}/streams/chat-1/subscribe`);
      try {
        expect(versions(await live.take(2))).toEqual([9, 10]);
      } finally {
        live.close();
      }

      await eventually(async () => (await stored(t, 'chat-1')) === 2, 15_000);
      expect(t.app.get(SchedulerRegistry).getIntervals()).toContain(SCAVENGE_JOB);
      expect(job.stats.runs).toBeGreaterThan(runsBefore);
      expect(job.stats).toMatchObject({ failures: 0, lastError: null });
      expect(job.stats.eventsRemoved).toBeGreaterThanOrEqual(8);
      const info = await request(t.http).get('/streams/chat-1');
      expect(info.body).toMatchObject({ version: 10, metadata: { $maxCount: 2, topic: 'dice' } });
    });

    it('counts and logs its own failures, and never runs twice at once', async () => {
      const job = t.app.get(ScavengeJob);
      const store = t.app.get(EventStore);
      // No timer from here on, and no run of it still going: the runs below are the test's own.
      t.app.get(SchedulerRegistry).deleteInterval(SCAVENGE_JOB);
      await job.run();
      const failures = job.stats.failures;
      let release = (): void => undefined;
      const spy = jest
        .spyOn(store, 'scavenge')
        .mockImplementationOnce(() => new Promise((_, reject) => (release = () => reject(new Error('database is down')))));
      try {
        const first = job.run();
        const second = job.run();
        release();
        await Promise.all([first, second]);
        expect(spy).toHaveBeenCalledTimes(1);
        expect(job.stats.failures).toBe(failures + 1);
        expect(job.stats.lastError).toBe('Error: database is down');
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('with the job off (the default)', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({}, 'retention_off');
    });
    afterAll(async () => {
      await t.close();
    });

    it('schedules nothing and removes nothing; reads still honour the keys', async () => {
      await request(t.http)
        .post('/streams/chat-2/events')
        .send({ expectedVersion: 'no_stream', events: events(5) })
        .expect(201);
      await request(t.http).put('/streams/chat-2/metadata').send({ $truncateBefore: 4 }).expect(200);
      expect(versions((await request(t.http).get('/streams/chat-2/events?direction=forward')).body.events)).toEqual([4, 5]);
      await sleep(2_000);
      expect(t.app.get(SchedulerRegistry).getIntervals()).not.toContain(SCAVENGE_JOB);
      expect(t.app.get(ScavengeJob).stats.runs).toBe(0);
      expect(await stored(t, 'chat-2')).toBe(5);
    });
  });

  it('validates the variables at boot, one line naming each', () => {
    for (const value of ['-1', 'often', '2147484']) {
      expect(() => loadServiceConfig({ EVENT_STORE_SCAVENGE_INTERVAL_SECONDS: value })).toThrow(
        /^Invalid configuration: EVENT_STORE_SCAVENGE_INTERVAL_SECONDS must be an integer from 0 \(off\) to 2147483 \(seconds\)/,
      );
    }
    expect(() => loadServiceConfig({ EVENT_STORE_SCAVENGE_BATCH_SIZE: '0' })).toThrow(
      /^Invalid configuration: EVENT_STORE_SCAVENGE_BATCH_SIZE must be an integer from 1 to 10000/,
    );
    expect(loadServiceConfig({}).scavenge).toEqual({ intervalSeconds: 0, batchSize: 500 });
    expect(loadServiceConfig({ EVENT_STORE_SCAVENGE_INTERVAL_SECONDS: '3600' }).scavenge).toEqual({
      intervalSeconds: 3600,
      batchSize: 500,
    });
  });
});
