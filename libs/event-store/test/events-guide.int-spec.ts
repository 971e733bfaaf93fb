/**
 * The example of docs/events.md, run for real. Every ```ts block of the guide must appear, to the
 * character, between a `// guide:` marker and `// end` below (the last test checks it).
 */
import 'reflect-metadata';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import { readFile } from 'node:fs/promises';
import { EventStoreModule, EventType, type EventStore } from '@game-bot/event-store';
import { createTestStore, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

// guide: v1
@EventType('GuessProcessed')
export class GuessProcessedV1 {
  @IsString() @Length(5, 5) guess!: string;
  @IsInt() @Min(0) score!: number;
}
// end

// guide: v2
@EventType('GuessProcessed', {
  version: 2,
  upcasters: {
    // Events stored at version 1 have no hint: give them the default.
    1: (data) => ({ ...data, hint: null }),
  },
})
export class GuessProcessed {
  @IsString() @Length(5, 5) guess!: string;
  @IsInt() @Min(0) score!: number;
  @IsOptional() @IsString() hint: string | null = null;
}
// end

// guide: module
// (in the feature module of the game)
// @Module({ imports: [EventStoreModule.forFeature([GuessProcessed])], providers: [GameService] })
export const gameEvents = EventStoreModule.forFeature([GuessProcessed]);
// end

// guide: service
export class GameService {
  constructor(private readonly store: EventStore) {}

  async recordGuess(gameId: string, guess: string, score: number, hint: string | null = null): Promise<void> {
    const event = Object.assign(new GuessProcessed(), { guess, score, hint });
    await this.store.appendToStream(`game-${gameId}`, 'any', [event]);
  }

  async guesses(gameId: string): Promise<GuessProcessed[]> {
    const events = await this.store.readStreamForward(`game-${gameId}`);
    return events.flatMap((event) => (event.data instanceof GuessProcessed ? [event.data] : []));
  }
}
// end

describe('docs/events.md: a word-guess game evolves GuessProcessed from v1 to v2', () => {
  const schema = uniqueSchema('guide');
  let before: TestStore;
  let after: TestStore;

  afterAll(async () => {
    await before.app.close().then(() => before.sql.end());
    await after.close();
  });

  it('events stored at v1 read as v2 instances with the default; new ones store v2', async () => {
    before = await createTestStore({ schema }, undefined, [EventStoreModule.forFeature([GuessProcessedV1])]);
    await before.store.appendToStream('game-42', 'no_stream', [Object.assign(new GuessProcessedV1(), { guess: 'crane', score: 2 })]);

    after = await createTestStore({ schema }, undefined, [gameEvents]);
    const game = new GameService(after.store);
    await game.recordGuess('42', 'slate', 4, 'two letters in place');

    const guesses = await game.guesses('42');
    expect(guesses.every((g) => g instanceof GuessProcessed)).toBe(true);
    expect(guesses.map((g) => ({ ...g }))).toEqual([
      { guess: 'crane', score: 2, hint: null },
      { guess: 'slate', score: 4, hint: 'two letters in place' },
    ]);
    expect((await after.store.readStreamForward('game-42')).map((e) => e.schemaVersion)).toEqual([1, 2]);
    await expect(game.recordGuess('42', 'toolong', 1)).rejects.toMatchObject({
      code: 'EVENT_VALIDATION_FAILED',
      details: { fields: [{ property: 'guess', constraints: { isLength: 'guess must be shorter than or equal to 5 characters' } }] },
    });
  });

  it('the guide quotes this file exactly', async () => {
    const guide = await readFile(new URL('../../../docs/events.md', import.meta.url), 'utf8');
    const spec = await readFile(new URL(import.meta.url), 'utf8');
    const regions = new Map([...spec.matchAll(/\/\/ guide: (\S+)\n([\s\S]*?)\/\/ end\n/g)].map((m) => [m[1], m[2]]));
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBe(regions.size);
    for (const block of blocks) expect([...regions.values()]).toContain(block);
  });
});
