import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/**
 * `POST /append` names its refusals as the body does (`streams[i]...`): the library names the
 * entries of `appendToStreams` `streams[i]` too. Before, the service renamed the message and the
 * keys of `details` afterwards, and a refusal carrying the path as a value
 * (`{ at: 'entries[0].events[0]' }`) still named `entries[...]`.
 */
describe('POST /append names fields as the body does', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({}, 'revappend');
  });
  afterAll(async () => {
    await t.close();
  });

  it('an event whose metadata is not an object', async () => {
    const response = await request(t.http)
      .post('/append')
      .send({ streams: [{ streamId: 'a-1', expectedVersion: 'any', events: [{ eventType: 'X', data: {}, metadata: 'nope' }] }] });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).not.toContain('entries[');
    expect(response.body.message).toMatch(/^streams\[0\]\.events\[0\]/);
  });

  it('an event whose data is not an object', async () => {
    const response = await request(t.http)
      .post('/append')
      .send({ streams: [{ streamId: 'a-2', expectedVersion: 'any', events: [{ eventType: 'X', data: 5 }] }] });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).not.toContain('entries[');
  });

  it('"condition": null on a single append is taken as no condition', async () => {
    const response = await request(t.http)
      .post('/streams/a-3/events')
      .send({ expectedVersion: 'any', events: [{ eventType: 'X', data: {} }], condition: null });
    expect(response.status).toBe(201);
  });
});
