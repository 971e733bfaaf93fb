import { IsString, Length, Matches } from 'class-validator';
import { EventType } from '@game-bot/event-store';

/** A player guessed a word in a game. */
@EventType('GuessMade', {
  version: 2,
  upcasters: {
    // Version 1 (the bot's first season) called the player `user` and the guess `word`.
    1: ({ user, word, ...rest }) => ({ ...rest, player: user, guess: word }),
  },
})
export class GuessMade {
  @IsString() @Length(1, 32) player!: string;
  @Matches(/^[a-z]{5}$/) guess!: string;
}
