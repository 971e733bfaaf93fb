import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { existsSync } from 'node:fs';
import type { LogLevel } from '@nestjs/common';
import type { EventStoreModuleOptions } from '@game-bot/event-store';
import { BotEnvironment } from './bot-environment.js';

/** The bot's validated configuration (see `.env.example`, section "Word-guess bot"). */
export interface BotConfig {
  http: { host: string; port: number };
  /** The store's options: the bot's own schema, on a server or the embedded PostgreSQL. */
  eventStore: EventStoreModuleOptions & { schema: string };
  game: GameSettings;
  logLevels: LogLevel[];
}

/** The rules of the bot's games. */
export interface GameSettings {
  /** Words a new game picks from (BOT_WORDS). */
  words: string[];
  /** Guesses a game allows (BOT_MAX_GUESSES). */
  maxGuesses: number;
  /** A game's snapshot is recorded once this many events came after the last one (BOT_SNAPSHOT_EVERY). */
  snapshotEvery: number;
  /** How many times a command is decided again after another writer got there first (BOT_COMMAND_RETRIES). */
  commandRetries: number;
}

/** Injection token of the {@link BotConfig}. */
export const BOT_CONFIG = Symbol('BOT_CONFIG');

/** A configuration value that stops the boot; its message is one line naming the variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** The process environment, with the variables of `.env` (when the working directory has one) filling in those that are unset. */
export function processEnvironment(path = '.env'): NodeJS.ProcessEnv {
  if (existsSync(path)) {
    process.loadEnvFile(path);
  }
  return process.env;
}

/** Validates the environment once, at boot; empty strings count as unset. Throws {@link ConfigurationError} on the first bad value. */
export function loadBotConfig(environment: NodeJS.ProcessEnv): BotConfig {
  const variables = parseEnvironment(environment);
  return {
    http: { host: variables.BOT_HOST, port: variables.BOT_PORT },
    eventStore: eventStoreOptions(variables),
    game: {
      words: variables.BOT_WORDS,
      maxGuesses: variables.BOT_MAX_GUESSES,
      snapshotEvery: variables.BOT_SNAPSHOT_EVERY,
      commandRetries: variables.BOT_COMMAND_RETRIES,
    },
    logLevels: logLevelsUpTo(variables.BOT_LOG_LEVEL),
  };
}

function eventStoreOptions(variables: BotEnvironment): BotConfig['eventStore'] {
  const connection =
    variables.BOT_DB_HOST === undefined
      ? undefined
      : {
          host: variables.BOT_DB_HOST,
          port: variables.BOT_DB_PORT,
          user: variables.BOT_DB_USER,
          password: variables.BOT_DB_PASS,
          database: variables.BOT_DB_NAME,
        };
  return {
    connection,
    embedded: { dataDir: variables.BOT_EMBEDDED_DATA_DIR },
    schema: variables.BOT_DB_SCHEMA,
    // Only the bot's own event classes may be stored: a typo in an event type is refused, not kept.
    unregisteredEventTypes: 'reject',
    applicationName: 'word-guess-bot',
  };
}

function parseEnvironment(environment: NodeJS.ProcessEnv): BotEnvironment {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const variables = plainToInstance(BotEnvironment, present);
  const [error] = validateSync(variables, { stopAtFirstError: true });
  if (error !== undefined) {
    const message = Object.values(error.constraints ?? {})[0] ?? `${error.property} is invalid`;
    throw new ConfigurationError(`Invalid configuration: ${message} (got '${String(error.value)}')`);
  }
  return variables;
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

function logLevelsUpTo(level: BotEnvironment['BOT_LOG_LEVEL']): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}
