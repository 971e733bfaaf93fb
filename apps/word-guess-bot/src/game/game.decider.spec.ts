import 'reflect-metadata';
import type { RecordedEvent } from '@game-bot/event-store';
import { GameLost } from './events/game-lost.event.js';
import { GameStarted } from './events/game-started.event.js';
import { GameWon } from './events/game-won.event.js';
import { GuessMade } from './events/guess-made.event.js';
import type { GameEvent } from './events/game-events.js';
import { gameDecider, type GameState } from './game.decider.js';
import { feedbackOf } from './word-feedback.js';

/** `events` as the store would hand them to `evolve`, folded from the initial state. */
function fold(events: readonly GameEvent[]): GameState {
  return events.reduce(
    (state, data, i) => gameDecider.evolve(state, { data, streamVersion: i + 1 } as unknown as RecordedEvent),
    gameDecider.initialState(),
  );
}

const started = (maxGuesses = 3): GameStarted => Object.assign(new GameStarted(), { word: 'crane', maxGuesses });
const guessed = (player: string, guess: string): GuessMade => Object.assign(new GuessMade(), { player, guess });

describe('the game decider', () => {
  it('starts a game once', () => {
    const events = gameDecider.decide({ type: 'StartGame', word: 'crane', maxGuesses: 3 }, gameDecider.initialState());
    expect(events).toEqual([started()]);
    expect(() => gameDecider.decide({ type: 'StartGame', word: 'slate', maxGuesses: 3 }, fold(events))).toThrow(
      expect.objectContaining({ code: 'GAME_ALREADY_STARTED' }),
    );
  });

  it('records a wrong guess, and a right one with the points it is worth', () => {
    const state = fold([started(), guessed('ana', 'slate')]);
    expect(gameDecider.decide({ type: 'MakeGuess', player: 'bo', guess: 'pious' }, fold([started()]))).toEqual([guessed('bo', 'pious')]);
    expect(gameDecider.decide({ type: 'MakeGuess', player: 'bo', guess: 'crane' }, state)).toEqual([
      guessed('bo', 'crane'),
      Object.assign(new GameWon(), { player: 'bo', attempts: 2, points: 2 }),
    ]);
  });

  it('loses the game on the last wrong guess, and refuses guesses once it is over', () => {
    const state = fold([started(2), guessed('ana', 'slate')]);
    const last = gameDecider.decide({ type: 'MakeGuess', player: 'bo', guess: 'pious' }, state);
    expect(last).toEqual([guessed('bo', 'pious'), Object.assign(new GameLost(), { attempts: 2 })]);
    expect(fold([started(2), guessed('ana', 'slate'), ...last])).toMatchObject({ status: 'lost', winner: null });
    expect(() => gameDecider.decide({ type: 'MakeGuess', player: 'cy', guess: 'crane' }, fold([started(2), ...last]))).toThrow(
      expect.objectContaining({ code: 'GAME_OVER' }),
    );
  });

  it('refuses a guess in a game that was never started', () => {
    expect(() => gameDecider.decide({ type: 'MakeGuess', player: 'ana', guess: 'crane' }, gameDecider.initialState())).toThrow(
      expect.objectContaining({ code: 'GAME_NOT_FOUND' }),
    );
  });

  it('keeps its state plain JSON, so that it snapshots as it is', () => {
    const state = fold([
      started(),
      guessed('ana', 'slate'),
      guessed('bo', 'crane'),
      Object.assign(new GameWon(), { player: 'bo', attempts: 2, points: 2 }),
    ]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    expect(state).toEqual({
      status: 'won',
      word: 'crane',
      maxGuesses: 3,
      guesses: [
        { player: 'ana', guess: 'slate' },
        { player: 'bo', guess: 'crane' },
      ],
      winner: 'bo',
    });
  });
});

describe('feedbackOf', () => {
  it.each([
    ['slate', 'crane', '..G.G'],
    ['crane', 'crane', 'GGGGG'],
    ['nacre', 'crane', 'YYYYG'],
    // A letter counts as often as the word has it: one E in crane, so one mark for eerie's three.
    ['eerie', 'crane', '..Y.G'],
    ['speed', 'abide', '..Y.Y'],
  ])('%s against %s is %s', (guess, word, feedback) => {
    expect(feedbackOf(guess, word)).toBe(feedback);
  });
});
