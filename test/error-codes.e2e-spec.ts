import { IsInt, Min } from 'class-validator';
import pg from 'pg';
import request from 'supertest';
import { EventStoreModule, EventType } from '@game-bot/event-store';
import { testConnection } from './helpers/test-database.js';
import { createTestApp, createTestAppBehindProxy, type ProxiedTestApp, type TestApp } from './helpers/test-app.js';

@EventType('PointsScored', { version: 2, upcasters: { 1: (data) => ({ ...data, bonus: 0 }) } })
class PointsScored {
  @IsInt() @Min(0) points!: number;
  @IsInt() bonus = 0;
}

const expectError = (response: request.Response, statusCode: number, code: string): void => {
  expect({ status: response.status, body: response.body }).toEqual({
    status: statusCode,
    body: { statusCode, code, message: expect.any(String), details: expect.any(Object) },
  });
};

/** The error codes of the store that need a particular set-up: typed events, a tampered row, a failing database. */
describe('error codes over HTTP', () => {
  describe('with registered event types, unregistered ones refused', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({}, 'codes', {
        imports: [EventStoreModule.forFeature([PointsScored])],
        eventStore: { unregisteredEventTypes: 'reject' },
      });
    });
    afterAll(async () => {
      await t.close();
    });
    const append = (event: Record<string, unknown>) =>
      request(t.http)
        .post('/streams/codes-1/events')
        .send({ expectedVersion: 'any', events: [event] });

    it('UNKNOWN_EVENT_TYPE 400, EVENT_VALIDATION_FAILED 422 with the fields, UNSUPPORTED_SCHEMA_VERSION 422', async () => {
      expect((await append({ eventType: 'PointsScored', data: { points: 3, bonus: 1 } })).status).toBe(201);
      expectError(await append({ eventType: 'NobodyKnowsMe', data: {} }), 400, 'UNKNOWN_EVENT_TYPE');
      const invalid = await append({ eventType: 'PointsScored', data: { points: -1, bonus: 0 } });
      expectError(invalid, 422, 'EVENT_VALIDATION_FAILED');
      expect(JSON.stringify(invalid.body.details)).toContain('points');
      expectError(
        await append({ eventType: 'PointsScored', schemaVersion: 3, data: { points: 1, bonus: 0 } }),
        422,
        'UNSUPPORTED_SCHEMA_VERSION',
      );
    });

    it('INVALID_ARGUMENT 400 for a limit above the largest page names `limit`, the parameter sent', async () => {
      for (const path of ['/streams/codes-1/events?limit=20000', '/all/events?limit=20000']) {
        const refused = await request(t.http).get(path);
        expectError(refused, 400, 'INVALID_ARGUMENT');
        expect(refused.body).toMatchObject({ message: 'limit must be an integer from 1 to 10000, got 20000', details: { limit: 20000 } });
        expect(JSON.stringify(refused.body)).not.toContain('maxCount');
      }
    });

    it('CORRUPTED_EVENT 500, naming the event, when a stored row was tampered with', async () => {
      const appended = await append({ eventType: 'PointsScored', data: { points: 5, bonus: 0 } });
      const sql = new pg.Pool({ ...testConnection(), max: 1 });
      const client = await sql.connect();
      try {
        await client.query('BEGIN');
        await client.query('SET LOCAL session_replication_role = replica'); // past the immutability trigger
        await client.query(`UPDATE "${t.schema}".events SET data = '{"points": 500, "bonus": 0}' WHERE global_position = $1`, [
          appended.body.lastPosition,
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
        await sql.end();
      }
      const read = await request(t.http).get('/streams/codes-1/events?direction=forward');
      expectError(read, 500, 'CORRUPTED_EVENT');
      expect(read.body.details).toMatchObject({ streamId: 'codes-1', globalPosition: appended.body.lastPosition });
    });
  });

  describe('with the database failing', () => {
    let t: ProxiedTestApp;
    beforeAll(async () => {
      t = await createTestAppBehindProxy(
        { EVENT_STORE_RETRY_ATTEMPTS: '2', EVENT_STORE_CONNECT_TIMEOUT_MS: '5000', EVENT_STORE_OPERATION_TIMEOUT_MS: '1500' },
        'failing',
      );
    });
    afterAll(async () => {
      await t.close();
    });

    it('STORE_UNAVAILABLE 503 when it cannot be reached, TIMEOUT 504 when it answers too late', async () => {
      await t.proxy.cut();
      expectError(await request(t.http).get('/streams/failing-1/events'), 503, 'STORE_UNAVAILABLE');
      await t.proxy.restore();
      t.proxy.delayReplies(2_500);
      expectError(await request(t.http).get('/streams/failing-1/events'), 504, 'TIMEOUT');
      await t.proxy.restore();
    });

    it('TIMEOUT details give the limits that were passed', async () => {
      t.proxy.delayReplies(2_500);
      const late = await request(t.http).get('/streams/failing-1/events');
      await t.proxy.restore();
      expectError(late, 504, 'TIMEOUT');
      expect(late.body.details).toEqual({ operationTimeoutMs: 1500, statementTimeoutMs: expect.any(Number) });
    });
  });
});
