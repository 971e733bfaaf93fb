import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, MigrationExecutor, type MigrationInterface, type QueryRunner } from 'typeorm';
import type { EventStoreConnection } from './event-store-connection.js';
import { dataSourceConnection } from './postgres-connection.js';
import type { MigrationsMode } from '../configuration/event-store-options.interface.js';
import { quoteIdentifier } from './postgres-connection.js';

// Advisory lock key: (class, object) = (a constant for this product, a hash of the schema).
/** Class of the advisory locks migrations take; the object is `hashtext` of the lock's name. */
export const MIGRATION_LOCK_CLASS = 0x45_53_54_52; // 'ESTR'
const LOCK_POLL_MS = 250;

/** How a {@link MigrationRunner} locks and what it tells the operator. */
export interface MigrationRunnerOptions {
  /**
   * What the advisory lock is keyed on. Default: the schema (the store's own migrations); another
   * set of migrations in the same schema (the service's) uses a name of its own.
   */
  lockName?: string;
  /** How long to wait for another process's migration. Default `300000` ms. */
  lockTimeoutMs?: number;
  /** The command that applies these migrations, named when `check` finds some pending. Default `npx event-store migrate`. */
  migrateCommand?: string;
}

/** The applied and pending migrations of a store. */
export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/**
 * Brings a store's schema to the current version. Several processes may start at once: they
 * serialise on an advisory lock, so exactly one migrates and the others then find nothing
 * pending. The pending migrations run in one transaction, which holds the lock
 * (`pg_try_advisory_xact_lock`), on one pooled connection (so a pool of one connection is enough),
 * without the pool's statement timeout (a migration may rebuild an index for minutes); waiting for
 * another process's migration is bounded by `lockTimeoutMs`. Nothing outlives the transaction (no
 * session lock, no session setting), so it works the same behind a pooler in transaction mode, and
 * a process that dies while migrating leaves neither its lock nor half of its migrations behind.
 */
export class MigrationRunner {
  private readonly logger = new Logger(MigrationRunner.name);

  private readonly lockName: string;
  private readonly lockTimeoutMs: number;
  private readonly migrateCommand: string;

  /**
   * @param dataSource its `migrations` and `migrationsTableName` say which migrations these are
   * @param schema the schema they run in
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
    options: MigrationRunnerOptions = {},
  ) {
    this.lockName = options.lockName ?? schema;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 300_000;
    this.migrateCommand = options.migrateCommand ?? 'npx event-store migrate';
  }

  /**
   * Runs `work` with a runner of other migrations than the store's (the service's own tables) in
   * the store's schema at `connection`: they are recorded in `tableName`, on a connection of
   * their own that is closed afterwards.
   */
  static async with<T>(
    connection: EventStoreConnection,
    migrations: { list: Array<new () => MigrationInterface>; tableName: string } & MigrationRunnerOptions,
    work: (runner: MigrationRunner) => Promise<T>,
  ): Promise<T> {
    const dataSource = new DataSource({
      ...dataSourceConnection(connection),
      schema: connection.schema,
      migrations: migrations.list,
      migrationsTableName: migrations.tableName,
      poolSize: 1,
      logging: false,
    });
    await dataSource.initialize();
    try {
      return await work(new MigrationRunner(dataSource, connection.schema, migrations));
    } finally {
      await dataSource.destroy();
    }
  }

  /** Applies (`run`), verifies (`check`) or leaves (`skip`) the migrations. */
  async prepare(mode: MigrationsMode): Promise<void> {
    if (mode === 'run') {
      await this.migrate();
    } else if (mode === 'check') {
      await this.refusePending();
    }
  }

  /** Applies every pending migration under the lock, all or none; returns their names. */
  async migrate(onProgress?: (message: string) => void): Promise<string[]> {
    return this.transaction(true, async (runner) => {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
      const pending = (await this.statusOn(runner)).pending;
      pending.forEach((name, index) => onProgress?.(`[${index + 1}/${pending.length}] applying ${name}`));
      const applied = await this.executor(runner).executePendingMigrations();
      applied.forEach((migration) => this.logger.log(`Applied migration ${migration.name} to schema ${this.schema}`));
      return applied.map((migration) => migration.name);
    });
  }

  /** Reverts the latest applied migration; returns its name, or `undefined` when none is applied. */
  async revertLast(): Promise<string | undefined> {
    return this.transaction(true, async (runner) => {
      const last = (await this.statusOn(runner)).applied.at(-1);
      if (last !== undefined) {
        await this.executor(runner).undoLastMigration();
      }
      return last;
    });
  }

  /** Which migrations are applied and which are pending. */
  async status(): Promise<MigrationStatus> {
    return this.transaction(false, (runner) => this.statusOn(runner));
  }

  private async statusOn(runner: QueryRunner): Promise<MigrationStatus> {
    const all = this.dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
    if (!(await this.schemaExists(runner))) {
      return { applied: [], pending: all };
    }
    const executor = this.executor(runner);
    const [applied, pending] = [await executor.getExecutedMigrations(), await executor.getPendingMigrations()];
    // TypeORM lists executed migrations newest first; oldest first reads like the history it is.
    const history = [...applied].sort((a, b) => a.timestamp - b.timestamp);
    return { applied: history.map((m) => m.name), pending: pending.map((m) => m.name) };
  }

  /** TypeORM's executor, inside the runner's transaction (it opens none of its own while one is open). */
  private executor(runner: QueryRunner): MigrationExecutor {
    const executor = new MigrationExecutor(this.dataSource, runner);
    executor.transaction = 'each';
    return executor;
  }

  private async refusePending(): Promise<void> {
    const { pending } = await this.status();
    if (pending.length > 0) {
      throw new Error(
        `Schema '${this.schema}' has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`${this.migrateCommand}\`, or enable migrations at start`,
      );
    }
  }

  private async schemaExists(runner: QueryRunner): Promise<boolean> {
    const rows = (await runner.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema])) as unknown[];
    return rows.length > 0;
  }

  /**
   * Runs `work` in one transaction without a statement timeout, holding the lock if `locked`:
   * committed when it resolves, rolled back (the lock released either way) when it throws.
   */
  private async transaction<T>(locked: boolean, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      try {
        await runner.query('SET LOCAL statement_timeout = 0');
        if (locked) {
          await this.lock(runner);
        }
        const result = await work(runner);
        await runner.commitTransaction();
        return result;
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /**
   * Takes the lock for the runner's transaction. It is tried rather than awaited so that the wait
   * is bounded and announced; between tries the transaction holds no snapshot and no transaction
   * id, so it holds back neither `$all` readers nor vacuum.
   */
  private async lock(runner: QueryRunner): Promise<void> {
    const started = Date.now();
    let announced = false;
    for (;;) {
      const [row] = (await runner.query('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked', [
        MIGRATION_LOCK_CLASS,
        this.lockName,
      ])) as Array<{
        locked: boolean;
      }>;
      if (row?.locked) {
        return;
      }
      const waited = Date.now() - started;
      if (waited > this.lockTimeoutMs) {
        throw new Error(
          `Another process has been migrating schema '${this.schema}' for over ${Math.round(waited / 1000)} s: wait for it to finish, or find it in pg_locks (advisory lock ${MIGRATION_LOCK_CLASS})`,
        );
      }
      if (!announced && waited > 2_000) {
        this.logger.log(`Waiting for another process to finish migrating schema ${this.schema}...`);
        announced = true;
      }
      await sleep(LOCK_POLL_MS);
    }
  }
}
