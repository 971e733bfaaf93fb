import { Body, Controller, Get, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { httpError } from '../http/error-body.js';
import { GamesService } from './games.service.js';
import type { GameView } from './game.view.js';
import { MakeGuessDto } from './make-guess.dto.js';

const gameId = new ParseUUIDPipe({ exceptionFactory: () => httpError(400, 'INVALID_ARGUMENT', 'A game id is a UUID') });

/** The game's commands over HTTP: thin, each route one call of `GamesService`. */
@Controller('games')
export class GamesController {
  constructor(@Inject(GamesService) private readonly games: GamesService) {}

  @Post()
  start(): Promise<GameView> {
    return this.games.start();
  }

  @Post(':id/guesses')
  guess(@Param('id', gameId) id: string, @Body() body: MakeGuessDto): Promise<GameView> {
    return this.games.guess(id, body.player, body.guess);
  }

  @Get(':id')
  get(@Param('id', gameId) id: string): Promise<GameView> {
    return this.games.get(id);
  }
}
