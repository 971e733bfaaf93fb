import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A row of `snapshots`: the latest snapshot of one source (an aggregate, a process). */
@Entity({ name: 'snapshots' })
export class SnapshotEntity {
  @PrimaryColumn({ name: 'source_id', type: 'text', collation: 'C' })
  sourceId!: string;

  @Column({ name: 'source_version', type: 'bigint' })
  sourceVersion!: string;

  @Column({ name: 'source_type', type: 'text' })
  sourceType!: string;

  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  metadata!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
