import type { Decider } from '@game-bot/event-store';
import { GameLost } from './events/game-lost.event.js';
import { GameStarted } from './events/game-started.event.js';
import { GameWon } from './events/game-won.event.js';
import { GuessMade } from './events/guess-made.event.js';
import type { GameEvent } from './events/game-events.js';
import { GameRuleError } from './game-rule.error.js';

/** A game as its events left it. Plain JSON, so that it can be snapshotted as it is. */
export interface GameState {
  status: 'new' | 'playing' | 'won' | 'lost';
  word: string | null;
  maxGuesses: number;
  guesses: Array<{ player: string; guess: string }>;
  winner: string | null;
}

/** What players ask of a game. */
export type GameCommand = { type: 'StartGame'; word: string; maxGuesses: number } | { type: 'MakeGuess'; player: string; guess: string };

/** The game as a decider: the store loads, decides, appends and retries (`store.aggregate`). */
export const gameDecider: Decider<GameState, GameCommand, GameEvent> = {
  initialState: () => ({ status: 'new', word: null, maxGuesses: 0, guesses: [], winner: null }),

  evolve(state, { data }) {
    if (data instanceof GameStarted) return { ...state, status: 'playing', word: data.word, maxGuesses: data.maxGuesses };
    if (data instanceof GuessMade) return { ...state, guesses: [...state.guesses, { player: data.player, guess: data.guess }] };
    if (data instanceof GameWon) return { ...state, status: 'won', winner: data.player };
    if (data instanceof GameLost) return { ...state, status: 'lost' };
    return state;
  },

  decide(command, state) {
    return command.type === 'StartGame' ? start(command, state) : guess(command, state);
  },
};

function start({ word, maxGuesses }: { word: string; maxGuesses: number }, state: GameState): GameEvent[] {
  if (state.status !== 'new') throw new GameRuleError('GAME_ALREADY_STARTED', 'This game has already started');
  return [Object.assign(new GameStarted(), { word, maxGuesses })];
}

function guess({ player, guess }: { player: string; guess: string }, state: GameState): GameEvent[] {
  if (state.status === 'new') throw new GameRuleError('GAME_NOT_FOUND', 'No such game: start one with POST /games');
  if (state.status !== 'playing') throw new GameRuleError('GAME_OVER', `This game is over (${state.status}): start a new one`);
  const attempts = state.guesses.length + 1;
  const made = Object.assign(new GuessMade(), { player, guess });
  if (guess === state.word) {
    // The sooner the word is found, the more it is worth: maxGuesses points at the first guess, 1 at the last.
    return [made, Object.assign(new GameWon(), { player, attempts, points: state.maxGuesses - attempts + 1 })];
  }
  return attempts === state.maxGuesses ? [made, Object.assign(new GameLost(), { attempts })] : [made];
}
