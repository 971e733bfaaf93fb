import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/**
 * A row of `events`. Rows are immutable (a trigger refuses UPDATE, and DELETE outside a hard
 * delete). The table also has `transaction_id xid8`, the writing transaction, which orders `$all`;
 * TypeORM has no `xid8` type, so the column is created by the migration and not mapped here.
 */
@Entity({ name: 'events' })
@Unique('events_stream_version_key', ['streamId', 'streamVersion'])
@Unique('events_event_id_key', ['eventId'])
export class EventEntity {
  @PrimaryColumn({ name: 'global_position', type: 'bigint' })
  globalPosition!: string;

  @Column({ name: 'stream_id', type: 'text', collation: 'C' })
  streamId!: string;

  @Column({ name: 'stream_version', type: 'bigint' })
  streamVersion!: string;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: string;

  @Column({ name: 'schema_version', type: 'integer' })
  schemaVersion!: number;

  /** The payload's JSON text as written (`json`, not `jsonb`: see the migration). */
  @Column({ type: 'json' })
  data!: Record<string, unknown>;

  @Column({ type: 'json' })
  metadata!: Record<string, unknown>;

  @Column({ name: 'causation_id', type: 'uuid', nullable: true })
  causationId!: string | null;

  @Column({ name: 'correlation_id', type: 'uuid', nullable: true })
  correlationId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** SHA-256 of the event's identity and content, checked on every read. */
  @Column({ type: 'bytea' })
  checksum!: Buffer;
}
