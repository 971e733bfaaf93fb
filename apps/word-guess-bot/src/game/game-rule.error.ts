/** Why a command was refused by the game's rules. */
export type GameRuleCode = 'GAME_NOT_FOUND' | 'GAME_ALREADY_STARTED' | 'GAME_OVER';

/** A command the game's rules refuse: thrown by the decider, answered over HTTP by `GameRuleFilter`. */
export class GameRuleError extends Error {
  override readonly name = 'GameRuleError';

  constructor(
    readonly code: GameRuleCode,
    message: string,
  ) {
    super(message);
  }
}
