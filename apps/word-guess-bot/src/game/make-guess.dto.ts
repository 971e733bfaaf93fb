import { Transform } from 'class-transformer';
import { IsString, Length, Matches } from 'class-validator';

/** The body of `POST /games/:id/guesses`. */
export class MakeGuessDto {
  /** Who guesses (a Discord user name, say). */
  @IsString() @Length(1, 32) player!: string;

  /** Five letters; case does not matter. */
  @Transform(({ value }) => (typeof value === 'string' ? value.trim().toLowerCase() : value))
  @Matches(/^[a-z]{5}$/, { message: 'guess must be a word of five letters a-z' })
  guess!: string;
}
