import { InvalidArgumentError, type EventData } from '@game-bot/event-store';
import { createTestStore, someEvents, type TestStore } from '../../../test/helpers/test-store.js';

describe('bad input is INVALID_ARGUMENT, and stores nothing', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({ maxAppendEvents: 50, maxPageSize: 100 }, 'badinput');
    await t.store.appendToStream('ok-1', 'no_stream', someEvents(2));
  });
  afterAll(async () => {
    await t.close();
  });

  const invalid = async (work: Promise<unknown>, message?: RegExp): Promise<void> => {
    const error = await work.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    if (message) expect((error as Error).message).toMatch(message);
  };
  const append = (streamId: unknown, events: unknown, expected: unknown = 'any'): Promise<unknown> =>
    t.store.appendToStream(streamId as string, expected as 'any', events as EventData[]);

  it('refuses bad stream ids', async () => {
    await invalid(append('', someEvents(1)), /1 to 200/);
    await invalid(append('x'.repeat(201), someEvents(1)), /1 to 200/);
    await invalid(append('bad\nid', someEvents(1)), /control/);
    await invalid(append('nul\u0000', someEvents(1)), /control/);
    await invalid(append('$all', someEvents(1)), /reserved/);
    await invalid(append('player-\uD800', someEvents(1)), /unpaired surrogates/);
    await invalid(append('player-\uDC00x', someEvents(1)), /unpaired surrogates/);
    await expect(append('player-🎲', someEvents(1))).resolves.toMatchObject({ toVersion: 1 });
    await invalid(append(42, someEvents(1)));
    await invalid(t.store.readStreamForward(''));
    await invalid(t.store.deleteStream('$all', 'any'));
    await expect(append('x'.repeat(200), someEvents(1))).resolves.toMatchObject({ toVersion: 1 });
  });

  it('refuses an empty, oversized or malformed append', async () => {
    await invalid(append('s-empty', []), /at least one event/);
    await invalid(append('s-big', someEvents(51)), /at most 50/);
    await invalid(append('s-bad', [{ eventType: '', data: {} }]), /eventType/);
    await invalid(append('s-bad', [{ eventType: 'T', data: [] }]), /data must be a JSON object/);
    await invalid(append('s-bad', [{ eventType: 'T', data: null }]), /data must be a JSON object/);
    await invalid(append('s-bad', [{ eventType: 'T', data: {}, metadata: [1] }]), /metadata must be a JSON object/);
    await invalid(append('s-bad', ['not an event']), /must be an event object/);
    await invalid(append('s-bad', [{ eventType: 'T', data: {}, schemaVersion: 0 }]), /schemaVersion/);
    await invalid(append('s-bad', [{ eventType: 'T', data: {}, eventId: 'not-a-uuid' }]), /UUID/);
    await invalid(append('s-bad', [{ eventType: 'T', data: {}, correlationId: 'nope' }]), /UUID/);
    const eventId = '6f1c2b8e-8f0a-4a51-9d55-0f1f5e0f2c11';
    await invalid(
      append('s-bad', [
        { eventType: 'T', data: {}, eventId },
        { eventType: 'T', data: {}, eventId },
      ]),
      /twice/,
    );
    await invalid(append('s-bad', someEvents(1), 'sometimes'), /expectedVersion/);
    await invalid(append('s-bad', someEvents(1), -1), /expectedVersion/);
    await invalid(append('s-bad', someEvents(1), 1.5), /expectedVersion/);
    expect(await t.store.listStreams({ prefix: 's-' })).toEqual({ streams: [], nextAfter: null });
  });

  it('refuses bad paging', async () => {
    await invalid(t.store.readStreamForward('ok-1', { maxCount: 0 }), /maxCount/);
    await invalid(t.store.readStreamForward('ok-1', { maxCount: 101 }), /maxCount/);
    await invalid(t.store.readStreamForward('ok-1', { fromVersion: -1 }), /fromVersion/);
    await invalid(t.store.readStreamBackward('ok-1', { fromVersion: 0 }), /fromVersion/);
    await invalid(t.store.readStreamForward('ok-1', { fromVersion: 1.5 }), /fromVersion/);
    await invalid(t.store.readAllForward({ fromPosition: -1 }), /fromPosition/);
    await invalid(t.store.readAllForward({ maxCount: 1e6 }), /maxCount/);
    await invalid(t.store.readAllForward({ filter: { eventTypes: [] } }), /eventTypes/);
    await invalid(t.store.listStreams({ limit: 0 }), /limit/);
    await invalid(t.store.listStreams({ prefix: 'bad\uD800' }), /prefix/);
    await invalid(t.store.readAllForward({ filter: { streamPrefix: 42 as unknown as string } }), /streamPrefix/);
    await invalid(t.store.deleteStream('ok-1', 'any', { mode: 'sideways' as 'soft' }), /mode/);
  });
});
