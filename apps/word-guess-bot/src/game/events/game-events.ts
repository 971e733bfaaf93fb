import { GameLost } from './game-lost.event.js';
import { GameStarted } from './game-started.event.js';
import { GameWon } from './game-won.event.js';
import { GuessMade } from './guess-made.event.js';

/** Every event of a game, for `EventStoreModule.forFeature`. */
export const GAME_EVENTS = [GameStarted, GuessMade, GameWon, GameLost];

/** What the game's decider decides. */
export type GameEvent = GameStarted | GuessMade | GameWon | GameLost;
