import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type GameRuleCode, GameRuleError } from '../game/game-rule.error.js';

const STATUS: Record<GameRuleCode, number> = { GAME_NOT_FOUND: 404, GAME_ALREADY_STARTED: 409, GAME_OVER: 409 };

/** Answers a command the game's rules refused: 404 for a game that does not exist, 409 for one that is over. */
@Catch(GameRuleError)
export class GameRuleFilter implements ExceptionFilter<GameRuleError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: GameRuleError, host: ArgumentsHost): void {
    const statusCode = STATUS[error.code];
    const body = { statusCode, code: error.code, message: error.message, details: {} };
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, statusCode);
  }
}
