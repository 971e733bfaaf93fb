import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { MasterKeys } from '../erasure/master-keys.js';
import { resolvePersonalData, type PersonalFields } from '../erasure/personal-data-declaration.js';
import type {
  ConnectionPooler,
  EventStoreModuleOptions,
  MigrationsMode,
  NotificationsMode,
  PostgresConnectionOptions,
} from './event-store-options.interface.js';

/** Connection settings with every default applied. */
export interface ResolvedConnectionOptions extends Required<Omit<PostgresConnectionOptions, 'ssl'>> {
  ssl?: PostgresConnectionOptions['ssl'];
}

/** {@link EventStoreModuleOptions} with every default applied. */
export interface ResolvedEventStoreOptions {
  connection?: ResolvedConnectionOptions;
  embedded: { dataDir: string; port: number; onLog?: (line: string) => void };
  schema: string;
  poolSize: number;
  statementTimeoutMs: number;
  connectionTimeoutMs: number;
  operationTimeoutMs: number;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  migrations: MigrationsMode;
  migrateCommand: string;
  createDatabase: boolean;
  maxAppendEvents: number;
  maxPageSize: number;
  defaultPageSize: number;
  filterScanLimit: number;
  unregisteredEventTypes: 'allow' | 'reject';
  applicationName: string;
  pooler: ConnectionPooler;
  notifications: NotificationsMode;
  notificationPollIntervalMs: number;
  /** The `personalData` option, checked, by event type. */
  personalData: ReadonlyMap<string, PersonalFields>;
  /** The master keys of the `erasure` option (none: subject keys stored unwrapped). */
  masterKeys: MasterKeys;
}

/** The database name used when none is given. */
export const DEFAULT_DATABASE = 'game_bot_eventstore';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Applies the defaults of every option, and refuses values that cannot work. */
export function resolveEventStoreOptions(options: EventStoreModuleOptions = {}): ResolvedEventStoreOptions {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`Event store schema '${schema}' is not a plain PostgreSQL name: use lower-case letters, digits and _ (at most 63)`);
  }
  const maxPageSize = positive('maxPageSize', options.maxPageSize ?? 10_000);
  return {
    connection: options.connection && resolveConnection(options.connection),
    embedded: {
      dataDir: resolve(options.embedded?.dataDir ?? 'data/postgres'),
      port: options.embedded?.port ?? 0,
      onLog: options.embedded?.onLog,
    },
    schema,
    poolSize: positive('poolSize', options.poolSize ?? Math.max(10, 4 * availableParallelism())),
    statementTimeoutMs: positive('statementTimeoutMs', options.statementTimeoutMs ?? 30_000),
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs ?? 5_000),
    operationTimeoutMs: positive('operationTimeoutMs', options.operationTimeoutMs ?? 60_000),
    retry: {
      maxAttempts: positive('retry.maxAttempts', options.retry?.maxAttempts ?? 5),
      initialDelayMs: positive('retry.initialDelayMs', options.retry?.initialDelayMs ?? 100),
      maxDelayMs: positive('retry.maxDelayMs', options.retry?.maxDelayMs ?? 2_000),
    },
    migrations: options.migrations ?? 'run',
    migrateCommand: options.migrateCommand ?? 'npx event-store migrate',
    createDatabase: options.createDatabase ?? true,
    maxAppendEvents: positive('maxAppendEvents', options.maxAppendEvents ?? 10_000),
    maxPageSize,
    defaultPageSize: defaultPageSize(options.defaultPageSize, maxPageSize),
    filterScanLimit: positive('filterScanLimit', options.filterScanLimit ?? 10_000),
    unregisteredEventTypes: options.unregisteredEventTypes ?? 'allow',
    applicationName: options.applicationName ?? 'event-store',
    ...notificationOptions(options),
    personalData: resolvePersonalData(options.personalData),
    masterKeys: erasureKeys(options),
  };
}

/** The pooler and how notifications travel: polling behind a transaction pooler, where LISTEN cannot work. */
function notificationOptions(
  options: EventStoreModuleOptions,
): Pick<ResolvedEventStoreOptions, 'pooler' | 'notifications' | 'notificationPollIntervalMs'> {
  const pooler = options.pooler ?? 'none';
  if (pooler !== 'none' && pooler !== 'transaction') {
    throw new Error(`Event store option pooler must be 'none' or 'transaction', got '${String(pooler)}'`);
  }
  const notifications = options.notifications ?? (pooler === 'transaction' ? 'poll' : 'listen');
  if (notifications !== 'listen' && notifications !== 'poll') {
    throw new Error(`Event store option notifications must be 'listen' or 'poll', got '${String(notifications)}'`);
  }
  if (notifications === 'listen' && pooler === 'transaction') {
    throw new Error(
      "Event store option notifications 'listen' cannot work behind a pooler in transaction mode (a LISTEN stays on a server session other clients get next): use 'poll'",
    );
  }
  const notificationPollIntervalMs = positive('notificationPollIntervalMs', options.notificationPollIntervalMs ?? 250);
  return { pooler, notifications, notificationPollIntervalMs };
}

/** The master keys, refused with the option's name (never its value) when malformed. */
function erasureKeys(options: EventStoreModuleOptions): MasterKeys {
  try {
    return MasterKeys.from(options.erasure);
  } catch (error) {
    throw new Error(`Event store option ${(error as Error).message}`, { cause: error });
  }
}

function resolveConnection(connection: PostgresConnectionOptions): ResolvedConnectionOptions {
  return {
    host: connection.host,
    port: connection.port ?? 5432,
    user: connection.user ?? 'postgres',
    password: connection.password ?? 'postgres',
    database: connection.database ?? DEFAULT_DATABASE,
    ssl: connection.ssl,
  };
}

/** 1000, or `maxPageSize` when that is smaller; a given default above the maximum is refused. */
function defaultPageSize(given: number | undefined, maxPageSize: number): number {
  if (given !== undefined && positive('defaultPageSize', given) > maxPageSize) {
    throw new Error(`Event store option defaultPageSize (${given}) must not exceed maxPageSize (${maxPageSize})`);
  }
  return given ?? Math.min(1_000, maxPageSize);
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`Event store option ${name} must be a positive integer, got ${value}`);
  }
  return value;
}
