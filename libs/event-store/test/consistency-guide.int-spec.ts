/**
 * The examples of docs/consistency.md, run for real. Every ```ts block of the guide must appear, to
 * the character, between a `// guide:` marker and `// end` below (the last test checks it).
 */
import { readFile } from 'node:fs/promises';
import { AppendConditionFailedError, type EventStore, type RecordedEvent } from '@game-bot/event-store';
import { createTestStore, type TestStore } from '../../../test/helpers/test-store.js';

// guide: finish
export async function finishGame(
  store: EventStore,
  game: { id: string; version: number; guildId: string; rulesVersion: number },
  winner: string,
): Promise<void> {
  await store.appendToStreams([
    { streamId: `game-${game.id}`, expectedVersion: game.version, events: [{ eventType: 'GameWon', data: { winner } }] },
    { streamId: `player-${winner}`, expectedVersion: 'any', events: [{ eventType: 'GameWonBy', data: { gameId: game.id } }] },
    // No events: only checked. The game was played under these rules; if they changed, nothing is written.
    { streamId: `guild-${game.guildId}-rules`, expectedVersion: game.rulesVersion },
  ]);
}
// end

// guide: claim
/** Records that `playerId` found `word` in game `gameId`; `false` if the guild had it claimed before. */
export async function claimWord(store: EventStore, guildId: string, gameId: string, word: string, playerId: string): Promise<boolean> {
  // The most selective tag first: it is the one the condition locks and looks through.
  const tags = [`word:${word}`, `guild:${guildId}`];
  try {
    await store.appendToStream(`game-${gameId}`, 'any', [{ eventType: 'WordClaimed', data: { word, playerId }, tags }], {
      condition: { failIfEventsMatch: [{ eventTypes: ['WordClaimed'], tags }] },
    });
    return true;
  } catch (error) {
    if (error instanceof AppendConditionFailedError) return false;
    throw error;
  }
}
// end

// guide: hints
const HINTS_PER_DAY = 3;

/** Gives `playerId` a hint, at most three a day however many games they play at once. */
export async function giveHint(store: EventStore, gameId: string, playerId: string, day: string): Promise<boolean> {
  const tags = [`player:${playerId}`, `day:${day}`];
  for (;;) {
    const { events, nextFromPosition } = await store.readAllForward({ filter: { eventTypes: ['HintGiven'], tags } });
    if (events.length >= HINTS_PER_DAY) return false;
    try {
      await store.appendToStream(`game-${gameId}`, 'any', [{ eventType: 'HintGiven', data: { playerId }, tags }], {
        // Fails if a hint of this player and day was stored after what was just counted.
        condition: { failIfEventsMatch: [{ eventTypes: ['HintGiven'], tags }], after: nextFromPosition ?? 0 },
      });
      return true;
    } catch (error) {
      if (!(error instanceof AppendConditionFailedError)) throw error;
      // Another game gave one meanwhile: count again.
    }
  }
}
// end

// guide: highlights
export async function highlight(store: EventStore, guildId: string, guess: RecordedEvent): Promise<void> {
  await store.linkToStream(`highlights-${guildId}`, 'any', [guess.eventId]);
}

export async function highlights(store: EventStore, guildId: string): Promise<string[]> {
  const linked = await store.readStreamForward(`highlights-${guildId}`);
  // Each is the guess as stored in its game; `link` tells its place among the highlights.
  return linked.map((event) => `${event.link!.streamVersion}. ${event.streamId}@${event.streamVersion}`);
}
// end

describe('docs/consistency.md: one stream, several streams, a condition, a link', () => {
  let t: TestStore;

  beforeAll(async () => {
    t = await createTestStore({}, 'consistency_guide');
  });
  afterAll(async () => {
    await t.close();
  });

  it('finishGame writes the game and the player together, or neither when the rules moved on', async () => {
    await t.store.appendToStream('game-1', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
    await t.store.appendToStream('guild-7-rules', 'no_stream', [{ eventType: 'RulesSet', data: { tries: 6 } }]);
    await finishGame(t.store, { id: '1', version: 1, guildId: '7', rulesVersion: 1 }, 'ana');
    expect((await t.store.readStreamForward('game-1')).map((e) => e.eventType)).toEqual(['GameStarted', 'GameWon']);
    expect((await t.store.readStreamForward('player-ana')).map((e) => e.eventType)).toEqual(['GameWonBy']);

    await t.store.appendToStream('game-2', 'no_stream', [{ eventType: 'GameStarted', data: {} }]);
    await t.store.appendToStream('guild-7-rules', 1, [{ eventType: 'RulesSet', data: { tries: 5 } }]);
    await expect(finishGame(t.store, { id: '2', version: 1, guildId: '7', rulesVersion: 1 }, 'ana')).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      details: { streamId: 'guild-7-rules', actualVersion: 2 },
    });
    expect(await t.store.readStreamForward('game-2')).toHaveLength(1);
    expect(await t.store.readStreamForward('player-ana')).toHaveLength(1);
  });

  it('claimWord lets one of many simultaneous games of a guild claim a word', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, game) => claimWord(t.store, '7', `claim-${game}`, 'crane', `p${game}`)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await claimWord(t.store, '8', 'claim-other-guild', 'crane', 'p9')).toBe(true);
  });

  it('giveHint gives at most three hints a day to a player playing four games at once', async () => {
    const given = await Promise.all(['h1', 'h2', 'h3', 'h4'].flatMap((game) => [giveHint(t.store, game, 'bo', '2026-12-01')]));
    expect(given.filter(Boolean)).toHaveLength(3);
    expect(await giveHint(t.store, 'h5', 'bo', '2026-12-02')).toBe(true);
  });

  it('highlights reads linked guesses with their own stream and version', async () => {
    await t.store.appendToStream('game-hl', 'no_stream', [
      { eventType: 'GuessProcessed', data: { guess: 'slate' } },
      { eventType: 'GuessProcessed', data: { guess: 'crane' } },
    ]);
    const [, best] = await t.store.readStreamForward('game-hl');
    await highlight(t.store, '7', best!);
    expect(await highlights(t.store, '7')).toEqual(['1. game-hl@2']);
  });

  it('every code block of docs/consistency.md is one of the examples above', async () => {
    const guide = await readFile(new URL('../../../docs/consistency.md', import.meta.url), 'utf8');
    const source = await readFile(new URL(import.meta.url), 'utf8');
    const examples = [...source.matchAll(/\/\/ guide: \w+\n([\s\S]*?)\/\/ end\n/g)].map((match) => match[1]!);
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const block of blocks) {
      expect(examples).toContain(block);
    }
  });
});
