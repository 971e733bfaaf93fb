import { IsInt, Matches, Max, Min } from 'class-validator';
import { EventType } from '@game-bot/event-store';

/** A game began: the word to find and how many guesses its players have. */
@EventType('GameStarted')
export class GameStarted {
  @Matches(/^[a-z]{5}$/) word!: string;
  @IsInt() @Min(1) @Max(20) maxGuesses!: number;
}
