import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { eventStoreMigrations } from './migrations/index.js';
import type { ResolvedConnectionOptions, ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { StoreUnavailableError } from '../errors/store-unavailable.error.js';
import { DatabaseExecutor } from './database-executor.js';
import { EventStoreConnection } from './event-store-connection.js';
import { EmbeddedPostgresServer } from './embedded-postgres.server.js';
import { eventStoreEntities } from './entities/index.js';
import { ensureDatabase } from './ensure-database.js';
import { MigrationRunner } from './migration-runner.js';
import { clientConfig, dataSourceConnection, describeServer, quoteIdentifier } from './postgres-connection.js';
import { classifyFailure } from './transient-failure.js';

/**
 * The store's own PostgreSQL: the embedded server when none is configured, the database (created
 * if missing), the store's own TypeORM data source and pool, and its migrated schema.
 */
export class EventStoreDatabase {
  private static readonly logger = new Logger(EventStoreDatabase.name);
  /** Runs statements with the retry policy. */
  readonly executor: DatabaseExecutor;
  /**
   * Runs the subscriptions' coordination (leases, checkpoints, membership) on a small pool of its
   * own, so that many subscriptions never queue ahead of appends and reads on the main pool.
   */
  readonly coordination: DatabaseExecutor;
  /**
   * Runs the batched lease statements of the process (renewals, tries of runs standing by) on two
   * connections of their own: a renewal never waits behind other coordination work, which would
   * make the leases it renews lapse.
   */
  readonly leases: DatabaseExecutor;
  private readonly coordinationPool: pg.Pool;
  private readonly leasePool: pg.Pool;
  /** The quoted schema name, for SQL text. */
  readonly schema: string;

  private constructor(
    /** The store's own TypeORM data source (its pool, its migrations). */
    readonly dataSource: DataSource,
    /** The server and database, defaults applied (the embedded server's when none was configured). */
    readonly connection: ResolvedConnectionOptions,
    /** The store's options, defaults applied. */
    readonly options: ResolvedEventStoreOptions,
    private readonly embedded?: EmbeddedPostgresServer,
  ) {
    this.executor = new DatabaseExecutor(this.pool, options);
    this.coordinationPool = new pg.Pool({
      ...clientConfig(connection, { ...options, applicationName: `${options.applicationName}-coordination` }),
      ...sessionSettings(options),
      max: coordinationPoolSize(options.poolSize),
    });
    // An idle connection lost (a server restart) is replaced on next use; the pool reports it here.
    this.coordinationPool.on('error', (error) => EventStoreDatabase.logger.debug(`Coordination connection lost: ${error.message}`));
    this.coordination = new DatabaseExecutor(this.coordinationPool, options);
    this.leasePool = new pg.Pool({
      ...clientConfig(connection, { ...options, applicationName: `${options.applicationName}-leases` }),
      ...sessionSettings(options),
      max: 2,
    });
    this.leasePool.on('error', (error) => EventStoreDatabase.logger.debug(`Lease connection lost: ${error.message}`));
    this.leases = new DatabaseExecutor(this.leasePool, options);
    this.schema = quoteIdentifier(options.schema);
  }

  /** The node-postgres pool behind the data source. */
  get pool(): pg.Pool {
    return (this.dataSource.driver as PostgresDriver).master as pg.Pool;
  }

  /**
   * Connects (starting the embedded server when no connection is configured) and prepares the
   * schema as `options.migrations` says, unless `prepareSchema` is false (migration tools).
   */
  static async open(options: ResolvedEventStoreOptions, prepareSchema = true): Promise<EventStoreDatabase> {
    const embedded = options.connection ? undefined : new EmbeddedPostgresServer(options.embedded);
    const connection = options.connection ?? (await embedded!.start());
    let dataSource: DataSource | undefined;
    try {
      if (options.createDatabase) {
        await ensureDatabase(connection, options);
      }
      dataSource = await EventStoreDatabase.connect(connection, options);
      const database = new EventStoreDatabase(dataSource, connection, options, embedded);
      if (prepareSchema) {
        await database.migrations().prepare(options.migrations);
        await database.checkSchema();
      }
      EventStoreDatabase.logger.log(`Event store ready: schema ${options.schema} on ${describeServer(connection)}`);
      return database;
    } catch (error) {
      await dataSource?.destroy().catch(() => undefined);
      await embedded?.stop();
      throw EventStoreDatabase.explain(error, connection);
    }
  }

  /** Whether the store runs on the embedded PostgreSQL it started (or adopted). */
  get onEmbeddedServer(): boolean {
    return this.embedded !== undefined;
  }

  /** Where the database is, for the host app's own tools. */
  connectionDetails(): EventStoreConnection {
    return new EventStoreConnection({ ...this.connection, schema: this.options.schema, embedded: this.onEmbeddedServer });
  }

  /** The migration runner of this store's schema. */
  migrations(): MigrationRunner {
    return new MigrationRunner(this.dataSource, this.options.schema, { migrateCommand: this.options.migrateCommand });
  }

  /** Closes the pools, then stops the embedded server if this store started it. */
  async close(): Promise<void> {
    await Promise.all([this.coordinationPool.end().catch(() => undefined), this.leasePool.end().catch(() => undefined)]);
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
    await this.embedded?.stop();
  }

  /** Refuses a schema that does not hold the store's tables (migrations skipped on an empty one). */
  private async checkSchema(): Promise<void> {
    const s = this.schema;
    const [row] = (await this.dataSource.query(
      `SELECT to_regclass('${s}.events') IS NOT NULL AND to_regclass('${s}.streams') IS NOT NULL
          AND to_regclass('${s}.snapshots') IS NOT NULL AND to_regclass('${s}.subscriptions') IS NOT NULL
          AND to_regprocedure('${s}.append_to_stream(text, bigint, json)') IS NOT NULL AS ok`,
    )) as Array<{ ok: boolean }>;
    if (!row?.ok) {
      throw new Error(
        `Schema '${this.options.schema}' does not hold an event store: run \`${this.options.migrateCommand}\` (or start with migrations enabled)`,
      );
    }
  }

  private static async connect(connection: ResolvedConnectionOptions, options: ResolvedEventStoreOptions): Promise<DataSource> {
    const dataSource = new DataSource({
      ...dataSourceConnection(connection),
      schema: options.schema,
      entities: eventStoreEntities,
      migrations: eventStoreMigrations,
      migrationsTableName: 'event_store_migrations',
      synchronize: false,
      logging: false,
      poolSize: options.poolSize,
      connectTimeoutMS: options.connectionTimeoutMs,
      applicationName: options.applicationName,
      extra: sessionSettings(options),
    });
    await dataSource.initialize();
    return dataSource;
  }

  private static explain(error: unknown, connection: ResolvedConnectionOptions): unknown {
    if (classifyFailure(error) !== 'connection') {
      return error;
    }
    if (refusedByServer(error)) {
      return new StoreUnavailableError(
        `The server at ${describeServer(connection)} refused the connection (${error.code}: ${error.message}): ` +
          'check the database name, user and password, and the configuration of a pooler in front of PostgreSQL (PgBouncer: its [databases] and auth settings)',
        error,
      );
    }
    return new StoreUnavailableError(
      `Cannot reach PostgreSQL at ${describeServer(connection)} (${(error as Error).message}): start it, or point the store at a reachable server`,
      error,
    );
  }
}

/**
 * A connection the server answered with an error of its own (a SQLSTATE and a severity), as
 * PgBouncer does for a database it does not know or a login it refuses (`08P01`): the network
 * works, so "cannot reach" would send the operator to the wrong place.
 */
function refusedByServer(error: unknown): error is pg.DatabaseError {
  const { code, severity } = (error ?? {}) as Partial<pg.DatabaseError>;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && severity !== undefined;
}

/** Connections of the coordination pool: a quarter of the main pool's, at least two. */
export function coordinationPoolSize(poolSize: number): number {
  return Math.max(2, Math.ceil(poolSize / 4));
}

/** node-postgres settings of every pooled connection of the store (both pools). */
function sessionSettings(options: ResolvedEventStoreOptions): pg.PoolConfig {
  return {
    statement_timeout: options.statementTimeoutMs,
    // A client-side bound too, for a server that stops answering without closing the socket.
    query_timeout: options.statementTimeoutMs + options.connectionTimeoutMs,
    keepAlive: true,
    // Every statement of the store is a key lookup or an index-ordered scan. Prepared
    // statements keep the plan made on first use, and a plan made while the tables were nearly
    // empty is a sequential scan whose cost then grows with the table.
    // That setting makes any scan look so costly that PostgreSQL would compile the statement
    // (JIT, hundreds of milliseconds) for what takes a fraction of one: JIT is off.
    // A transaction of the store never waits long on its client; one that does was abandoned.
    // Append conditions rely on READ COMMITTED (each statement sees what committed before it
    // began): a server whose default is stricter would let racers through, so it is set here.
    options:
      '-c enable_seqscan=off -c jit=off -c default_transaction_isolation=read\\ committed ' +
      `-c idle_in_transaction_session_timeout=${Math.max(60_000, options.statementTimeoutMs)}`,
  };
}
