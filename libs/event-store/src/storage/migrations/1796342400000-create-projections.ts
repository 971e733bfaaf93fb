import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Projections: one row per projection, holding its definition (filter, read-model tables), its
 * checkpoint (written in the same transaction as the read model, so each event takes effect once),
 * its lease (one process runs it at a time; measured on the database clock), a halt at a failing
 * event (`status`, `failed_*`), the last error, and a rebuild in progress (its own generation of
 * tables, checkpoint and lease: a crashed rebuild is found and cleaned up by the next one).
 */
export class CreateProjections1796342400000 implements MigrationInterface {
  name = 'CreateProjections1796342400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.projections (
        name text COLLATE "C" PRIMARY KEY,
        filter jsonb NOT NULL DEFAULT '{}',
        tables jsonb NOT NULL,
        generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
        checkpoint bigint NOT NULL DEFAULT 0 CHECK (checkpoint >= 0),
        status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'halted')),
        owner text,
        lease_until timestamptz,
        failed_event_id uuid,
        failed_position bigint,
        last_error jsonb,
        rebuild_generation integer,
        rebuild_tables jsonb,
        rebuild_filter jsonb,
        rebuild_owner text,
        rebuild_lease_until timestamptz,
        rebuild_checkpoint bigint,
        rebuild_processed bigint,
        rebuild_total bigint,
        rebuild_started_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${storeSchema(queryRunner)}.projections`);
  }
}
