import { IsInt, Min } from 'class-validator';
import { EventType } from '@game-bot/event-store';

/** The last guess allowed was wrong: the game is over, and nobody scores. */
@EventType('GameLost')
export class GameLost {
  @IsInt() @Min(1) attempts!: number;
}
