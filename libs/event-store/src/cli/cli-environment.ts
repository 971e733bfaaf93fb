import { existsSync } from 'node:fs';
import type { EventStoreModuleOptions } from '../configuration/event-store-options.interface.js';

/** A variable the command line cannot use; the message is the one line it prints. */
export class CliConfigurationError extends Error {
  override readonly name = 'CliConfigurationError';
}

/**
 * The store's options from the same variables as the service (`EVENT_STORE_HOST`, `_PORT`,
 * `_USER`, `_PASS`, `_DB`, `_SCHEMA`, `_SSL`, `_EMBEDDED_DATA_DIR`), with `.env` in the working
 * directory filling in what is unset. No host: the embedded PostgreSQL, which production
 * (`NODE_ENV=production`) refuses unless `EVENT_STORE_ALLOW_EMBEDDED=true`, as the service does.
 */
export function optionsFromEnvironment(environment: NodeJS.ProcessEnv = loadEnvironment()): EventStoreModuleOptions {
  const value = (name: string): string | undefined => (environment[name] === '' ? undefined : environment[name]);
  const host = value('EVENT_STORE_HOST');
  if (host === undefined && value('NODE_ENV') === 'production' && value('EVENT_STORE_ALLOW_EMBEDDED') !== 'true') {
    throw new CliConfigurationError(
      'EVENT_STORE_HOST is unset in production: set it to your PostgreSQL server, or set EVENT_STORE_ALLOW_EMBEDDED=true to use the embedded database',
    );
  }
  return {
    connection:
      host === undefined
        ? undefined
        : {
            host,
            port: integer('EVENT_STORE_PORT', value('EVENT_STORE_PORT')),
            user: value('EVENT_STORE_USER'),
            password: value('EVENT_STORE_PASS'),
            database: value('EVENT_STORE_DB'),
            ssl: boolean('EVENT_STORE_SSL', value('EVENT_STORE_SSL')),
          },
    embedded: { dataDir: value('EVENT_STORE_EMBEDDED_DATA_DIR') },
    schema: value('EVENT_STORE_SCHEMA'),
    migrations: 'skip',
  };
}

function loadEnvironment(): NodeJS.ProcessEnv {
  if (existsSync('.env')) {
    process.loadEnvFile('.env');
  }
  return process.env;
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const number = Number(text);
  if (!Number.isInteger(number) || number < 1 || number > 65_535) {
    throw new CliConfigurationError(`${name} must be a port number, got '${text}'`);
  }
  return number;
}

function boolean(name: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') {
    throw new CliConfigurationError(`${name} must be true or false, got '${text}'`);
  }
  return text === 'true';
}
