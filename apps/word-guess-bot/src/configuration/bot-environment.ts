import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';

const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.split(',').map((word) => word.trim().toLowerCase()) : value;

/** An integer variable in `min..max`, given as a decimal string; `message` names it and the range. */
function IntegerVariable(message: string, min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  return applyDecorators(Transform(toInteger), IsInt({ message }), Min(min, { message }), Max(max, { message }));
}

/** Words the bot picks from when none is configured. */
export const DEFAULT_WORDS = ['crane', 'slate', 'pious', 'blimp', 'quirk', 'frost', 'nymph', 'glade', 'torch', 'vivid'];

/** The bot's environment, as class-validator checks it at boot. Every variable is in `.env.example`. */
export class BotEnvironment {
  @IsString()
  @MinLength(1, { message: 'BOT_HOST must be an address to listen on, e.g. 127.0.0.1' })
  BOT_HOST = '127.0.0.1';

  @IntegerVariable('BOT_PORT must be an integer from 1 to 65535', 1, 65535)
  BOT_PORT = 3100;

  @IsOptional()
  @IsString()
  @MinLength(1, { message: 'BOT_DB_HOST must be a host name, or unset to use the embedded database' })
  BOT_DB_HOST?: string;

  @IntegerVariable('BOT_DB_PORT must be an integer from 1 to 65535', 1, 65535)
  BOT_DB_PORT = 5432;

  @IsString()
  @MinLength(1, { message: 'BOT_DB_USER must not be empty' })
  BOT_DB_USER = 'postgres';

  @IsString()
  BOT_DB_PASS = 'postgres';

  @IsString()
  @MinLength(1, { message: 'BOT_DB_NAME must not be empty' })
  BOT_DB_NAME = 'game_bot_eventstore';

  // The store's own rule for its schema's name (EventStoreModuleOptions.schema), checked here to fail the boot with the variable's name.
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'BOT_DB_SCHEMA must be a lower-case PostgreSQL name (letters, digits, _; at most 63)' })
  BOT_DB_SCHEMA = 'word_guess_bot';

  @IsString()
  @MinLength(1, { message: 'BOT_EMBEDDED_DATA_DIR must be a directory path' })
  BOT_EMBEDDED_DATA_DIR = './data/word-guess-bot';

  @Transform(toList)
  @Matches(/^[a-z]{5}$/, { each: true, message: 'BOT_WORDS must be comma-separated words of five letters a-z' })
  BOT_WORDS: string[] = DEFAULT_WORDS;

  @IntegerVariable('BOT_MAX_GUESSES must be an integer from 1 to 20', 1, 20)
  BOT_MAX_GUESSES = 6;

  @IntegerVariable('BOT_SNAPSHOT_EVERY must be an integer from 1 to 10000', 1, 10_000)
  BOT_SNAPSHOT_EVERY = 10;

  @IntegerVariable('BOT_COMMAND_RETRIES must be an integer from 0 to 100', 0, 100)
  BOT_COMMAND_RETRIES = 10;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'], { message: 'BOT_LOG_LEVEL must be error, warn, log, debug or verbose' })
  BOT_LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
}
