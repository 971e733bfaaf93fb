import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Webhook subscriptions of the service: where each persistent subscription delivers (a URL), the
 * secret its requests are signed with, and what it reads. The service's instances start every
 * webhook listed here; the subscription's checkpoint, lease and failures live in `subscriptions`.
 */
export class CreateWebhooks1764403200000 implements MigrationInterface {
  name = 'CreateWebhooks1764403200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.webhooks (
        name text COLLATE "C" PRIMARY KEY,
        url text NOT NULL,
        secret text NOT NULL,
        stream_id text COLLATE "C",
        filter jsonb NOT NULL DEFAULT '{}',
        start_from text NOT NULL,
        options jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${storeSchema(queryRunner)}.webhooks`);
  }
}
