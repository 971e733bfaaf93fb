import { type DynamicModule, Module } from '@nestjs/common';
import { EventStoreModule } from '@game-bot/event-store';
import { BOT_CONFIG, type BotConfig } from './configuration/bot-config.js';
import { GameModule } from './game/game.module.js';
import { LeaderboardModule } from './leaderboard/leaderboard.module.js';

/** The bot's root module, built from the validated configuration: the store, once, and the features. */
@Module({})
export class AppModule {
  static register(config: BotConfig): DynamicModule {
    return {
      module: AppModule,
      // Global, so that every feature module can inject BOT_CONFIG.
      global: true,
      imports: [EventStoreModule.forRoot(config.eventStore), GameModule, LeaderboardModule],
      providers: [{ provide: BOT_CONFIG, useValue: config }],
      exports: [BOT_CONFIG],
    };
  }
}
