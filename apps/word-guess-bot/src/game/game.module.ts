import { Module } from '@nestjs/common';
import { EventStoreModule } from '@game-bot/event-store';
import { GAME_EVENTS } from './events/game-events.js';
import { GamesController } from './games.controller.js';
import { GamesService } from './games.service.js';

/** The game: its events (registered for the whole app), the aggregate's service, its routes. */
@Module({
  imports: [EventStoreModule.forFeature(GAME_EVENTS)],
  controllers: [GamesController],
  providers: [GamesService],
})
export class GameModule {}
