import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { EVENT_STORE_OPTIONS, EventStoreConnection } from '@game-bot/event-store';
import { EventStoreDatabase, MigrationRunner, type ResolvedEventStoreOptions } from '@game-bot/event-store/internal';
import { SERVICE_MIGRATE_COMMAND, SERVICE_MIGRATIONS_TABLE, serviceMigrations } from '../../../../migrations/index.js';

/**
 * The service's own tables (webhook definitions) beside the store's, in the store's schema, with
 * migrations of their own: applied or checked at boot as the store's are (`EVENT_STORE_MIGRATIONS`),
 * under a lock of their own, on a connection of their own that is closed afterwards.
 */
@Injectable()
export class ServiceSchema implements OnModuleInit {
  constructor(
    @Inject(EventStoreConnection) private readonly connection: EventStoreConnection,
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(EventStoreDatabase) private readonly database: EventStoreDatabase,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.withRunner((runner) => runner.prepare(this.options.migrations));
  }

  /**
   * Names of the service's migrations not applied (for the readiness check): read from their
   * table with the store's pool, rather than through a data source of their own at every check.
   */
  async pendingMigrations(): Promise<string[]> {
    const table = `${this.database.schema}.${SERVICE_MIGRATIONS_TABLE}`;
    const [found] = await this.database.executor.query<{ present: boolean }>(
      { text: 'SELECT to_regclass($1) IS NOT NULL AS present', values: [table] },
      { idempotent: true },
    );
    const applied = found?.present
      ? await this.database.executor.query<{ name: string }>({ text: `SELECT name FROM ${table}` }, { idempotent: true })
      : [];
    const names = new Set(applied.map((row) => row.name));
    return serviceMigrations.map((migration) => migration.name).filter((name) => !names.has(name));
  }

  /** Runs `work` with the migration runner of the service's tables. */
  async withRunner<T>(work: (runner: MigrationRunner) => Promise<T>): Promise<T> {
    return withServiceMigrations(this.connection, work);
  }
}

/** Runs `work` with the runner of the service's migrations on the store at `connection`. */
export async function withServiceMigrations<T>(
  connection: EventStoreConnection,
  work: (runner: MigrationRunner) => Promise<T>,
): Promise<T> {
  const migrations = {
    list: serviceMigrations,
    tableName: SERVICE_MIGRATIONS_TABLE,
    lockName: `${connection.schema}:${SERVICE_MIGRATIONS_TABLE}`,
    migrateCommand: SERVICE_MIGRATE_COMMAND,
  };
  return MigrationRunner.with(connection, migrations, work);
}
