import { EventStore, ExpectedVersion, InvalidArgumentError, type JsonObject } from '@game-bot/event-store';
import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/** JSON text of `levels` objects nested in one another, `{"a":{"a":...{}}}`, built without recursion. */
const nestedText = (levels: number): string => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
const nested = (levels: number): JsonObject => JSON.parse(nestedText(levels)) as JsonObject;

describe('deeply nested JSON', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await createTestApp({}, 'payloads');
    store = t.app.get(EventStore);
  });
  afterAll(async () => {
    await t.close();
  });

  const send = (method: 'post' | 'put', path: string, body: string): request.Test =>
    request(t.http)[method](path).set('Content-Type', 'application/json').send(body);

  /** A 400 INVALID_ARGUMENT naming the limit and where it is crossed (the body's path or the payload's). */
  const expectTooDeep = (response: request.Response, where: RegExp): void => {
    expect({ status: response.status, body: response.body }).toMatchObject({
      status: 400,
      body: { statusCode: 400, code: 'INVALID_ARGUMENT', details: { maxDepth: 64 } },
    });
    expect(response.body.message).toMatch(/is nested more than 64 levels deep/);
    expect(response.body.details.path).toMatch(where);
  };

  describe('over HTTP', () => {
    it.each([3_000, 10_000])('refuses event data %i levels deep with 400, storing nothing', async (levels) => {
      const body = `{"expectedVersion":"any","events":[{"eventType":"Deep","data":${nestedText(levels)}}]}`;
      expectTooDeep(await send('post', '/streams/deep-data/events', body), /^(body\.)?events\[0\]\.data(\.a)+$/);
      expect((await request(t.http).get('/streams/deep-data')).status).toBe(404);
    });

    it('refuses deep event metadata, and a deep array as well as a deep object', async () => {
      const metadata = `{"expectedVersion":"any","events":[{"eventType":"Deep","data":{},"metadata":${nestedText(3_000)}}]}`;
      expectTooDeep(await send('post', '/streams/deep-metadata/events', metadata), /^(body\.)?events\[0\]\.metadata(\.a)+$/);
      const array = `{"expectedVersion":"any","events":[{"eventType":"Deep","data":{"list":${'['.repeat(3_000)}${']'.repeat(3_000)}}}]}`;
      expectTooDeep(await send('post', '/streams/deep-array/events', array), /^(body\.)?events\[0\]\.data\.list(\[0\])+$/);
    });

    it('refuses a deep stream metadata PUT, keeping the metadata', async () => {
      const append = { expectedVersion: 'no_stream', events: [{ eventType: 'Started', data: {} }] };
      expect((await request(t.http).post('/streams/deep-put/events').send(append)).status).toBe(201);
      expectTooDeep(await send('put', '/streams/deep-put/metadata', nestedText(5_000)), /^(body|metadata)(\.a)+$/);
      expect((await request(t.http).get('/streams/deep-put/metadata')).body).toEqual({});
    });

    it('refuses a deep webhook body before class-transformer walks it', async () => {
      const body = `{"name":"deep-hook","url":"http://127.0.0.1:9/hook","filter":${nestedText(5_000)}}`;
      expectTooDeep(await send('post', '/subscriptions', body), /^body\.filter(\.a)+$/);
      expect((await request(t.http).get('/subscriptions/deep-hook')).status).toBe(404);
    });

    it('stores a normally nested event and metadata', async () => {
      const data = { game: { round: { guesses: [{ word: 'crane', letters: [{ c: 'c', hit: true }] }] } }, deep: nested(20) };
      const append = { expectedVersion: 'no_stream', events: [{ eventType: 'Nested', data, metadata: { bot: { id: 'b-1' } } }] };
      expect((await request(t.http).post('/streams/nested-ok/events').send(append)).status).toBe(201);
      const [event] = (await request(t.http).get('/streams/nested-ok/events')).body.events as Array<{ data: object }>;
      expect(event!.data).toEqual(data);
      const metadata = { owner: { team: { members: [{ name: 'Ann' }] } } };
      expect((await request(t.http).put('/streams/nested-ok/metadata').send(metadata)).status).toBe(200);
      expect((await request(t.http).get('/streams/nested-ok/metadata')).body).toEqual(metadata);
    });
  });

  describe('in the library', () => {
    const tooDeep = expect.objectContaining({ details: expect.objectContaining({ maxDepth: 64 }) }) as unknown;

    it('appendToStream takes 64 levels of data and metadata, and refuses 65', async () => {
      await expect(
        store.appendToStream('lib-deep', ExpectedVersion.NoStream, [{ eventType: 'Deep', data: nested(64), metadata: nested(64) }]),
      ).resolves.toMatchObject({ toVersion: 1 });
      await expect(store.appendToStream('lib-deep', 1, [{ eventType: 'Deep', data: nested(65) }])).rejects.toThrow(InvalidArgumentError);
      await expect(store.appendToStream('lib-deep', 1, [{ eventType: 'Deep', data: {}, metadata: nested(3_000) }])).rejects.toEqual(
        tooDeep,
      );
    });

    it('setStreamMetadata refuses deeper metadata', async () => {
      await expect(store.setStreamMetadata('lib-deep', nested(5_000))).rejects.toThrow(InvalidArgumentError);
      await expect(store.setStreamMetadata('lib-deep', nested(65))).rejects.toEqual(tooDeep);
      await expect(store.setStreamMetadata('lib-deep', nested(64))).resolves.toBeUndefined();
    });

    it('recordSnapshot refuses deeper data and metadata', async () => {
      const snapshot = { sourceId: 'lib-deep', sourceType: 'Game', sourceVersion: 1 };
      await expect(store.recordSnapshot({ ...snapshot, data: nested(5_000) })).rejects.toThrow(InvalidArgumentError);
      await expect(store.recordSnapshot({ ...snapshot, data: {}, metadata: nested(65) })).rejects.toEqual(tooDeep);
      await expect(store.recordSnapshot({ ...snapshot, data: nested(64) })).resolves.toBeUndefined();
      expect((await store.readSnapshot('lib-deep'))?.data).toEqual(nested(64));
    });
  });
});
