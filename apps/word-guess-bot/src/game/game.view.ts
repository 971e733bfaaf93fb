import type { GameState } from './game.decider.js';
import { feedbackOf } from './word-feedback.js';

/** A game as players see it over HTTP: the word only once the game is over. */
export interface GameView {
  id: string;
  status: 'playing' | 'won' | 'lost';
  /** The version of the game's stream this view reflects. */
  version: number;
  maxGuesses: number;
  guessesLeft: number;
  guesses: Array<{ player: string; guess: string; feedback: string }>;
  winner: string | null;
  word: string | null;
}

/** The view of a started game. */
export function gameView(id: string, state: GameState, version: number): GameView {
  const word = state.word!;
  return {
    id,
    status: state.status as GameView['status'],
    version,
    maxGuesses: state.maxGuesses,
    guessesLeft: state.maxGuesses - state.guesses.length,
    guesses: state.guesses.map(({ player, guess }) => ({ player, guess, feedback: feedbackOf(guess, word) })),
    winner: state.winner,
    word: state.status === 'playing' ? null : word,
  };
}
