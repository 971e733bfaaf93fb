import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Subject keys (erasure of personal data, docs/erasure.md): one row per data subject, holding the
 * key its personal fields are encrypted with (wrapped by the master key when one is configured,
 * `master_key_id` naming it). Forgetting the subject overwrites the key with NULL and keeps the
 * row as a tombstone (`forgotten_at`), so that no later append makes the subject a new key.
 */
export class CreateSubjectKeys1796515200000 implements MigrationInterface {
  name = 'CreateSubjectKeys1796515200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.subject_keys (
        subject_id text COLLATE "C" PRIMARY KEY,
        key bytea,
        master_key_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        forgotten_at timestamptz,
        CONSTRAINT subject_keys_key_or_tombstone CHECK ((key IS NULL) = (forgotten_at IS NOT NULL)),
        CONSTRAINT subject_keys_tombstone_unwrapped CHECK (key IS NOT NULL OR master_key_id IS NULL)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${storeSchema(queryRunner)}.subject_keys`);
  }
}
