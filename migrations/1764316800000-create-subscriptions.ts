import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Persistent subscriptions: where each one stands (its checkpoint, the last event it handled) and
 * which process runs it (a lease, renewed while it runs and taken over once it lapses).
 */
export class CreateSubscriptions1764316800000 implements MigrationInterface {
  name = 'CreateSubscriptions1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.subscriptions (
        name text COLLATE "C" PRIMARY KEY,
        stream_id text COLLATE "C",
        filter jsonb NOT NULL DEFAULT '{}',
        checkpoint bigint NOT NULL DEFAULT 0 CHECK (checkpoint >= 0),
        owner text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${storeSchema(queryRunner)}.subscriptions`);
  }
}
