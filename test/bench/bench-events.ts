import { IsArray, IsInt, IsString, Length, Min } from 'class-validator';
import { EventType } from '@game-bot/event-store';

/**
 * The typed twin of the plain events the benchmark appends (`benchEvents`): same fields, with the
 * validation a game would declare. Registered under its own name, so that the plain events stay
 * unregistered and take the plain-JSON path.
 */
@EventType('TypedGuessProcessed')
export class TypedGuessProcessed {
  @IsInt() @Min(0) worker!: number;
  @IsInt() @Min(0) n!: number;
  @IsString() player!: string;
  @IsString() @Length(5, 5) guess!: string;
  @IsArray() @IsString({ each: true }) feedback!: string[];
  @IsInt() score!: number;
}
