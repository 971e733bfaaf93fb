import { existsSync } from 'node:fs';
import type { ErasureOptions, EventStoreModuleOptions } from '../configuration/event-store-options.interface.js';
import { parseMasterKey } from '../erasure/master-keys.js';

/** A variable the command line cannot use; the message is the one line it prints. */
export class CliConfigurationError extends Error {
  override readonly name = 'CliConfigurationError';
}

/**
 * The store's options from the same variables as the service (`EVENT_STORE_HOST`, `_PORT`,
 * `_USER`, `_PASS`, `_DB`, `_SCHEMA`, `_SSL`, `_EMBEDDED_DATA_DIR`, `_EMBEDDED_PORT`, `_POOL_SIZE`,
 * the timeouts, `_POOLER`, `_NOTIFICATIONS`, the master keys), with `.env` in the working
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
    embedded: { dataDir: value('EVENT_STORE_EMBEDDED_DATA_DIR'), port: embeddedPort(value('EVENT_STORE_EMBEDDED_PORT')) },
    schema: value('EVENT_STORE_SCHEMA'),
    migrations: 'skip',
    ...connectionSettings(value),
    erasure: masterKeys(value('EVENT_STORE_MASTER_KEY'), value('EVENT_STORE_PREVIOUS_MASTER_KEYS')),
  };
}

/**
 * The pool, the timeouts and the pooler, as the service reads them: behind PgBouncer in
 * transaction mode (`EVENT_STORE_POOLER=transaction`) the commands prepare no named statements and
 * poll rather than listen, as the service does.
 */
function connectionSettings(value: (name: string) => string | undefined): Partial<EventStoreModuleOptions> {
  const pooler = oneOf('EVENT_STORE_POOLER', value('EVENT_STORE_POOLER'), ['none', 'transaction'] as const);
  const notifications = oneOf('EVENT_STORE_NOTIFICATIONS', value('EVENT_STORE_NOTIFICATIONS'), ['listen', 'poll'] as const);
  if (pooler === 'transaction' && notifications === 'listen') {
    throw new CliConfigurationError(
      'EVENT_STORE_NOTIFICATIONS=listen cannot work behind a pooler in transaction mode (EVENT_STORE_POOLER=transaction): set it to poll, or unset it',
    );
  }
  return {
    poolSize: positive('EVENT_STORE_POOL_SIZE', value('EVENT_STORE_POOL_SIZE')),
    statementTimeoutMs: positive('EVENT_STORE_STATEMENT_TIMEOUT_MS', value('EVENT_STORE_STATEMENT_TIMEOUT_MS')),
    connectionTimeoutMs: positive('EVENT_STORE_CONNECT_TIMEOUT_MS', value('EVENT_STORE_CONNECT_TIMEOUT_MS')),
    operationTimeoutMs: positive('EVENT_STORE_OPERATION_TIMEOUT_MS', value('EVENT_STORE_OPERATION_TIMEOUT_MS')),
    pooler,
    notifications: notifications ?? (pooler === 'transaction' ? 'poll' : undefined),
  };
}

function embeddedPort(text: string | undefined): number | undefined {
  return text === '0' ? 0 : integer('EVENT_STORE_EMBEDDED_PORT', text);
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const number = Number(text);
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new CliConfigurationError(`${name} must be a positive integer, got '${text}'`);
  }
  return number;
}

function oneOf<T extends string>(name: string, text: string | undefined, values: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!values.includes(text as T)) {
    throw new CliConfigurationError(`${name} must be ${values.join(' or ')}, got '${text}'`);
  }
  return text as T;
}

/** `EVENT_STORE_MASTER_KEY` and `EVENT_STORE_PREVIOUS_MASTER_KEYS`, as the service reads them: events read here open sealed personal data. */
function masterKeys(current: string | undefined, previous: string | undefined): ErasureOptions | undefined {
  try {
    const previousMasterKeys = (previous ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)
      .map((entry, index) => parseMasterKey(entry, `EVENT_STORE_PREVIOUS_MASTER_KEYS entry ${index + 1}`));
    if (current === undefined && previousMasterKeys.length > 0) {
      throw new Error('EVENT_STORE_PREVIOUS_MASTER_KEYS is set but EVENT_STORE_MASTER_KEY is not: previous keys only unwrap');
    }
    return current === undefined ? undefined : { masterKey: parseMasterKey(current, 'EVENT_STORE_MASTER_KEY'), previousMasterKeys };
  } catch (error) {
    throw new CliConfigurationError((error as Error).message, { cause: error });
  }
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
