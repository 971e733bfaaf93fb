import { Entity, PrimaryColumn } from 'typeorm';

/**
 * A row of `hard_deleted_positions`: the place in `$all` of an event that a hard delete removed, so
 * that a reader whose cursor is that event continues right after it. Its `transaction_id xid8`
 * column is created by the migration (TypeORM has no `xid8` type).
 */
@Entity({ name: 'hard_deleted_positions' })
export class HardDeletedPositionEntity {
  @PrimaryColumn({ name: 'global_position', type: 'bigint' })
  globalPosition!: string;
}
