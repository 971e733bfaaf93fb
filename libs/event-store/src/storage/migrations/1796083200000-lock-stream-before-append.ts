import type { MigrationInterface, QueryRunner } from 'typeorm';
import { streamLockKeySql } from '../sql/append-to-stream.sql.js';
import { appendFunction } from './1764230400000-create-event-store.js';
import { storeSchema } from './store-schema.js';

/**
 * `append_to_stream` takes the stream's advisory lock before anything else, as the one-statement
 * appends do. Appends waiting on the stream row already had their transaction ids and won the row
 * in no particular order, so a later version of a stream could come first in `$all`; waiting on
 * the advisory lock, they have no id yet and take their ids in version order (docs/design.md).
 * `down` restores the function without the lock.
 */
export class LockStreamBeforeAppend1796083200000 implements MigrationInterface {
  name = 'LockStreamBeforeAppend1796083200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(appendFunction(s, { replace: true, streamLock: streamLockKeySql(s, 'p_stream_id') }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(appendFunction(storeSchema(queryRunner), { replace: true }));
  }
}
