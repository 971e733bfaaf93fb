import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

describe('smoke', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore({}, 'smoke');
  });
  afterAll(async () => {
    await t.close();
  });

  it('appends and reads', async () => {
    const result = await t.store.appendToStream('s-1', 'no_stream', someEvents(3));
    expect(result).toMatchObject({ streamId: 's-1', fromVersion: 1, toVersion: 3 });
    const events = await t.store.readStreamForward('s-1');
    expect(events.map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    await t.allVisible();
    const all = await t.store.readAllForward();
    expect(all.events).toHaveLength(3);
  });
});
