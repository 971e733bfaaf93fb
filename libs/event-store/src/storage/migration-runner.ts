import { Logger } from '@nestjs/common';
import { type DataSource, MigrationExecutor } from 'typeorm';
import type { MigrationsMode } from '../configuration/event-store-options.interface.js';
import { quoteIdentifier } from './postgres-connection.js';

// Advisory lock key: (class, object) = (a constant for this product, a hash of the schema).
const LOCK_CLASS = 0x45_53_54_52; // 'ESTR'

/** The applied and pending migrations of a store. */
export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/**
 * Brings a store's schema to the current version. Several processes may start at once: they
 * serialise on an advisory lock held on a dedicated session, so exactly one migrates and the others
 * then find nothing pending.
 */
export class MigrationRunner {
  private readonly logger = new Logger(MigrationRunner.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly schema: string,
  ) {}

  /** Applies (`run`), verifies (`check`) or leaves (`skip`) the migrations, then checks the schema. */
  async prepare(mode: MigrationsMode): Promise<void> {
    if (mode === 'run') {
      await this.migrate();
    } else if (mode === 'check') {
      await this.refusePending();
    }
    await this.checkSchema();
  }

  /** Applies every pending migration under the lock; returns their names. */
  async migrate(onProgress?: (message: string) => void): Promise<string[]> {
    return this.underLock(async () => {
      await this.dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
      const pending = (await this.status()).pending;
      pending.forEach((name, index) => onProgress?.(`[${index + 1}/${pending.length}] applying ${name}`));
      const applied = await this.dataSource.runMigrations({ transaction: 'each' });
      applied.forEach((migration) => this.logger.log(`Applied migration ${migration.name} to schema ${this.schema}`));
      return applied.map((migration) => migration.name);
    });
  }

  /** Reverts the latest applied migration; returns its name, or `undefined` when none is applied. */
  async revertLast(): Promise<string | undefined> {
    return this.underLock(async () => {
      const last = (await this.status()).applied.at(-1);
      if (last !== undefined) {
        await this.dataSource.undoLastMigration({ transaction: 'each' });
      }
      return last;
    });
  }

  /** Which migrations are applied and which are pending. */
  async status(): Promise<MigrationStatus> {
    const executor = new MigrationExecutor(this.dataSource);
    const schemaExists = await this.schemaExists();
    const pending = schemaExists
      ? await executor.getPendingMigrations()
      : this.dataSource.migrations.map((migration) => ({ name: migration.name ?? migration.constructor.name }));
    const applied = schemaExists ? await executor.getExecutedMigrations() : [];
    return {
      applied: applied.map((migration) => migration.name),
      pending: pending.map((migration) => migration.name),
    };
  }

  private async refusePending(): Promise<void> {
    const { pending } = await this.status();
    if (pending.length > 0) {
      throw new Error(
        `Schema '${this.schema}' has ${pending.length} pending migration(s) (${pending.join(', ')}): run \`npm run migrate\`, or enable migrations at start`,
      );
    }
  }

  private async checkSchema(): Promise<void> {
    const s = quoteIdentifier(this.schema);
    const [row] = (await this.dataSource.query(
      `SELECT to_regclass('${s}.events') IS NOT NULL AND to_regclass('${s}.streams') IS NOT NULL
          AND to_regclass('${s}.snapshots') IS NOT NULL
          AND to_regprocedure('${s}.append_to_stream(text, bigint, json)') IS NOT NULL AS ok`,
    )) as Array<{ ok: boolean }>;
    if (!row?.ok) {
      throw new Error(
        `Schema '${this.schema}' does not hold an event store: run \`npm run migrate\` (or start with migrations enabled)`,
      );
    }
  }

  private async schemaExists(): Promise<boolean> {
    const rows = (await this.dataSource.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      this.schema,
    ])) as unknown[];
    return rows.length > 0;
  }

  private async underLock<T>(work: () => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, this.schema]);
      try {
        return await work();
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, this.schema]);
      }
    } finally {
      await runner.release();
    }
  }
}
