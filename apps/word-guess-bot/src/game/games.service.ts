import { Inject, Injectable } from '@nestjs/common';
import { randomInt, randomUUID } from 'node:crypto';
import { type Aggregate, EventStore } from '@game-bot/event-store';
import { BOT_CONFIG, type BotConfig, type GameSettings } from '../configuration/bot-config.js';
import type { GameEvent } from './events/game-events.js';
import { type GameCommand, gameDecider, type GameState } from './game.decider.js';
import { GameRuleError } from './game-rule.error.js';
import { gameView, type GameView } from './game.view.js';

/** The game's commands and queries, on the game aggregate (streams `game-<id>`). */
@Injectable()
export class GamesService {
  private readonly games: Aggregate<GameState, GameCommand, GameEvent>;
  private readonly settings: GameSettings;

  constructor(@Inject(EventStore) store: EventStore, @Inject(BOT_CONFIG) config: BotConfig) {
    this.settings = config.game;
    this.games = store.aggregate(gameDecider, {
      streamPrefix: 'game-',
      snapshotEvery: config.game.snapshotEvery,
      retries: config.game.commandRetries,
    });
  }

  /** Starts a game on a word picked at random. */
  async start(): Promise<GameView> {
    const id = randomUUID();
    const word = this.settings.words[randomInt(this.settings.words.length)]!;
    const { state, version } = await this.games.handle(id, { type: 'StartGame', word, maxGuesses: this.settings.maxGuesses });
    return gameView(id, state, version);
  }

  /** Records a guess; when another guess got in first, the aggregate decides again on the new state. */
  async guess(id: string, player: string, guess: string): Promise<GameView> {
    const { state, version } = await this.games.handle(id, { type: 'MakeGuess', player, guess });
    return gameView(id, state, version);
  }

  /** The game as it stands: its snapshot, then the events after it. */
  async get(id: string): Promise<GameView> {
    const { state, version } = await this.games.load(id);
    if (state.status === 'new') throw new GameRuleError('GAME_NOT_FOUND', `No game ${id}`);
    return gameView(id, state, version);
  }
}
