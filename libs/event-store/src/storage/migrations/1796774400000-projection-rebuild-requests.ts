import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Rebuild requests (`event-store projections rebuild NAME`): a projection's handler lives in the
 * application, not in the command line, so the command records a request in the projection's row
 * and the process that runs the projection performs the rebuild. `rebuild_requested_at` is the
 * pending request (cleared by the switch, or by a rebuild that failed); `rebuild_error` the
 * failure of the last requested rebuild that gave up, for the command waiting on it.
 */
export class ProjectionRebuildRequests1796774400000 implements MigrationInterface {
  name = 'ProjectionRebuildRequests1796774400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.projections ADD COLUMN rebuild_requested_at timestamptz, ADD COLUMN rebuild_error jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.projections DROP COLUMN rebuild_requested_at, DROP COLUMN rebuild_error`);
  }
}
