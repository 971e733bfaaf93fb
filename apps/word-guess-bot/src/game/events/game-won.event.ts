import { IsInt, IsString, Length, Min } from 'class-validator';
import { EventType } from '@game-bot/event-store';

/** A player found the word: the game is over, and the player scores `points`. */
@EventType('GameWon')
export class GameWon {
  @IsString() @Length(1, 32) player!: string;
  @IsInt() @Min(1) attempts!: number;
  @IsInt() @Min(1) points!: number;
}
