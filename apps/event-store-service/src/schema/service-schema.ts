import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EVENT_STORE_OPTIONS, EventStoreConnection } from '@game-bot/event-store';
import { MigrationRunner, type ResolvedEventStoreOptions } from '@game-bot/event-store/internal';
import { SERVICE_MIGRATIONS_TABLE, serviceMigrations } from '../../../../migrations/index.js';

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
  ) {}

  async onModuleInit(): Promise<void> {
    await this.withRunner((runner) => runner.prepare(this.options.migrations));
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
  const dataSource = new DataSource({
    type: 'postgres',
    host: connection.host,
    port: connection.port,
    username: connection.user,
    password: connection.password,
    database: connection.database,
    ssl: connection.ssl as boolean | undefined,
    schema: connection.schema,
    migrations: serviceMigrations,
    migrationsTableName: SERVICE_MIGRATIONS_TABLE,
    poolSize: 1,
    logging: false,
  });
  await dataSource.initialize();
  try {
    return await work(new MigrationRunner(dataSource, connection.schema, `${connection.schema}:${SERVICE_MIGRATIONS_TABLE}`));
  } finally {
    await dataSource.destroy();
  }
}
