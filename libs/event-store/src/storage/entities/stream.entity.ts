import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A row of `streams`: one per stream, holding its version and the lock appends queue on. */
@Entity({ name: 'streams' })
export class StreamEntity {
  @PrimaryColumn({ name: 'stream_id', type: 'text', collation: 'C' })
  streamId!: string;

  @Column({ type: 'bigint', default: 0 })
  version!: string;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  /** Set by a soft delete. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  metadata!: Record<string, unknown>;
}
