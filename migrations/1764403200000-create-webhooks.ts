import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MIGRATION_LOCK_CLASS, storeSchema } from '@game-bot/event-store/internal';

/**
 * Webhook subscriptions of the service: where each persistent subscription delivers (a URL), the
 * secret its requests are signed with, and what it reads. The service's instances start every
 * webhook listed here; the subscription's checkpoint, lease and failures live in `subscriptions`.
 *
 * Stores created before the service kept migrations of its own recorded this one among the
 * store's: there the table exists already, and the store's record of it is removed (the store's
 * migrations would otherwise list one they do not know). That upgrade is one-way: a service built
 * before the split would find the migration pending again.
 */
export class CreateWebhooks1764403200000 implements MigrationInterface {
  name = 'CreateWebhooks1764403200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${s}.webhooks (
        name text COLLATE "C" PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        stream_id text COLLATE "C",
        filter jsonb NOT NULL DEFAULT '{}',
        start_from text NOT NULL,
        options jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    if ((await queryRunner.query(`SELECT to_regclass('${s}.event_store_migrations') IS NOT NULL AS found`))[0]?.found) {
      // The store's history is the store's: change it under the store's migration lock (held to commit).
      const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
      await queryRunner.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
      await queryRunner.query(`DELETE FROM ${s}.event_store_migrations WHERE name = $1`, [this.name]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${storeSchema(queryRunner)}.webhooks`);
  }
}
