import type { PersonalDataDeclaration } from '../erasure/personal-data-declaration.js';

/** Where the store's PostgreSQL server is. */
export interface PostgresConnectionOptions {
  /** Server host, e.g. `127.0.0.1`. */
  host: string;
  /** Server port. Default `5432`. */
  port?: number;
  /** User name. Default `postgres`. */
  user?: string;
  /** Password. Default `postgres`. */
  password?: string;
  /** Database name; created if missing (where the user may). Default `game_bot_eventstore`. */
  database?: string;
  /** TLS: `true` for TLS with certificate verification, or node `tls` options. Default off. */
  ssl?: boolean | Record<string, unknown>;
}

/** How to run the embedded PostgreSQL used when no server is configured. */
export interface EmbeddedPostgresOptions {
  /** Directory of the embedded cluster's data; reused across restarts. Default `./data/postgres`. */
  dataDir?: string;
  /** TCP port on 127.0.0.1; `0` picks a free one at each start. Default `0`. */
  port?: number;
  /** Receives the embedded server's own log lines. Default: dropped. */
  onLog?: (line: string) => void;
}

/** Retry policy for transient database failures (connection refused or reset, server restart). */
export interface RetryOptions {
  /** Attempts in all, the first included. Default `5`. */
  maxAttempts?: number;
  /** Delay before the first retry, doubled at each further one (with jitter). Default `100` ms. */
  initialDelayMs?: number;
  /** Upper bound of one delay. Default `2000` ms. */
  maxDelayMs?: number;
}

/** What to do with pending migrations when the store starts. */
export type MigrationsMode = 'run' | 'check' | 'skip';

/**
 * What lies between the store and PostgreSQL: `none` (a direct connection, or a pooler in session
 * mode) or `transaction`, a pooler in transaction mode (PgBouncer's `pool_mode = transaction`),
 * which may run each transaction, and each statement outside one, on another server session.
 */
export type ConnectionPooler = 'none' | 'transaction';

/**
 * How subscriptions learn of events appended by other processes: `listen` (PostgreSQL
 * `LISTEN/NOTIFY` on one extra connection per process, with polling as the fallback) or `poll`
 * (each process looks for new events every `notificationPollIntervalMs`, on its pool).
 */
export type NotificationsMode = 'listen' | 'poll';

/**
 * How subject keys are kept (option `erasure` of `EventStoreModule.forRoot()`; docs/erasure.md).
 *
 * @example
 * EventStoreModule.forRoot({ erasure: { masterKey: process.env.EVENT_STORE_MASTER_KEY } })
 */
export interface ErasureOptions {
  /**
   * Wraps (encrypts, AES-256-GCM) every new subject key stored in the store's `subject_keys`
   * table, so that a copy of the table (a backup, a dump) is no use without it. 32 bytes: as bytes,
   * or as base64 (44 characters) or hex (64 characters) text. Default: none, keys are stored as
   * they are.
   */
  masterKey?: string | Uint8Array;
  /**
   * Former master keys, which only unwrap: keys wrapped under them stay readable after the master
   * key is changed (new keys are wrapped under `masterKey`). Default: none.
   */
  previousMasterKeys?: ReadonlyArray<string | Uint8Array>;
}

/**
 * Options of `EventStoreModule.forRoot()`. Every field is optional; defaults are applied in one
 * place, {@link resolveEventStoreOptions}.
 *
 * @example
 * EventStoreModule.forRoot({ connection: { host: '127.0.0.1' }, schema: 'game' })
 */
export interface EventStoreModuleOptions {
  /** The PostgreSQL server. Default: none, which starts an embedded PostgreSQL. */
  connection?: PostgresConnectionOptions;
  /** The embedded PostgreSQL, used only when `connection` is absent. */
  embedded?: EmbeddedPostgresOptions;
  /** PostgreSQL schema holding this store (one store per schema). Default `public`. */
  schema?: string;
  /**
   * Maximum connections in the store's pool. Default `max(10, 4 × CPU cores)`. Subscriptions'
   * coordination (checkpoints, membership) has a pool of its own beside it, a quarter of this
   * size and at least 2, their batched lease statements two connections more, and a process with
   * subscriptions holds one listening connection: count `poolSize × 1.25 + 3` connections per
   * process against the server's `max_connections`.
   */
  poolSize?: number;
  /** Server-side limit of one statement. Default `30000` ms. */
  statementTimeoutMs?: number;
  /**
   * Limit for opening a connection, for waiting on a busy pool (then `STORE_UNAVAILABLE`, or
   * `TIMEOUT` if the operation's deadline comes first), and for the server to confirm that a
   * timed-out write was cancelled. Default `5000` ms.
   */
  connectionTimeoutMs?: number;
  /** Deadline of one operation, retries included. Default `60000` ms. */
  operationTimeoutMs?: number;
  /** Transient-failure retries. */
  retry?: RetryOptions;
  /** `run` applies pending migrations at start (under a lock), `check` refuses to start while any
   * is pending, `skip` does neither. Default `run`. */
  migrations?: MigrationsMode;
  /**
   * The command a refusal to start names, with `migrations: 'check'`, for applying the pending
   * migrations. A host app with migrations of its own beside the store's names the command that
   * applies both (`npx event-store migrate` applies the store's only). Default `npx event-store migrate`.
   */
  migrateCommand?: string;
  /** Create the database when it is missing (needs the CREATEDB privilege). Default `true`. */
  createDatabase?: boolean;
  /** Most events in one append. Default `10000`. */
  maxAppendEvents?: number;
  /** Most events (or streams) in one page read. Default `10000`. */
  maxPageSize?: number;
  /** Page size when a read gives no `maxCount`, and of the async iterators. Default `1000`. */
  defaultPageSize?: number;
  /**
   * Most events a filtered `$all` read scans past its cursor (at least its page size): a sparse
   * filter then costs bounded work per read, and the returned cursor moves past what was scanned.
   * Default `10000`.
   */
  filterScanLimit?: number;
  /**
   * Event types no class is registered for: `allow` stores and reads them as plain JSON, `reject`
   * refuses them with `UNKNOWN_EVENT_TYPE` on append and on read. Default `allow`.
   */
  unregisteredEventTypes?: 'allow' | 'reject';
  /** `application_name` of the store's connections. Default `event-store`. */
  applicationName?: string;
  /**
   * `transaction` when `connection` goes through a pooler in transaction mode (PgBouncer with
   * `pool_mode = transaction`): the store then keeps nothing in a server session between
   * transactions. Its statements are not prepared under a name (the next one may run on another
   * session), and notifications default to `poll` (a `LISTEN` would stay on a session that other
   * clients get next). Migrations and subscription leases need no session in either mode.
   * Default `none`.
   *
   * @example
   * EventStoreModule.forRoot({ connection: { host: 'pgbouncer', port: 6432 }, pooler: 'transaction' })
   */
  pooler?: ConnectionPooler;
  /**
   * How subscriptions learn of events appended by other processes (appends of this process wake
   * its subscriptions at once in both modes): `listen` wakes them within milliseconds through
   * `LISTEN/NOTIFY`; `poll` within `notificationPollIntervalMs`, at the cost of one small query
   * per interval per process while any subscription runs. `listen` needs a session of its own, so
   * it is refused with `pooler: 'transaction'`. Default `listen`, or `poll` with
   * `pooler: 'transaction'`.
   */
  notifications?: NotificationsMode;
  /** With `notifications: 'poll'`: how often each process looks for new events. Default `250` ms. */
  notificationPollIntervalMs?: number;
  /**
   * Personal data of plain events, by event type: the path of the data subject's id and the paths
   * of the personal fields in `data`, stored encrypted with that subject's key and read as
   * `{ "$erased": true }` once `forgetSubject` destroyed it (docs/erasure.md). Event classes declare
   * theirs with `@PersonalData()` and `@DataSubject()` instead. Checked at boot. Default: none.
   *
   * @example
   * personalData: { PlayerRegistered: { subject: 'playerId', fields: ['email', 'profile.name'] } }
   */
  personalData?: Record<string, PersonalDataDeclaration>;
  /** How subject keys are kept: a master key that wraps them. Default: stored unwrapped. */
  erasure?: ErasureOptions;
}
