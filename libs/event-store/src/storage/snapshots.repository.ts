import { Inject, Injectable } from '@nestjs/common';
import type { JsonObject } from '../types/event-data.js';
import type { RecordedSnapshot, SnapshotData } from '../types/snapshot.js';
import { EventStoreDatabase } from './event-store-database.js';
import { deleteSnapshotSql, readSnapshotSql, recordSnapshotSql, type SnapshotRow } from './sql/snapshots.sql.js';

/** The latest snapshot of each source. */
@Injectable()
export class SnapshotsRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** Stores a snapshot, replacing the source's previous one. */
  async record(snapshot: Required<SnapshotData>): Promise<void> {
    const { sourceId, sourceVersion, sourceType, data, metadata } = snapshot;
    await this.database.executor.query(
      {
        name: 'es_record_snapshot',
        text: recordSnapshotSql(this.s),
        values: [sourceId, sourceVersion, sourceType, JSON.stringify(data), JSON.stringify(metadata)],
      },
      { idempotent: true },
    );
  }

  /** The source's snapshot, or `null`. */
  async read(sourceId: string): Promise<RecordedSnapshot | null> {
    const [row] = await this.database.executor.query<SnapshotRow>(
      { name: 'es_read_snapshot', text: readSnapshotSql(this.s), values: [sourceId] },
      { idempotent: true, readOnly: true },
    );
    if (row === undefined) {
      return null;
    }
    return {
      sourceId: row.source_id,
      sourceVersion: Number(row.source_version),
      sourceType: row.source_type,
      data: JSON.parse(row.data) as JsonObject,
      metadata: JSON.parse(row.metadata) as JsonObject,
      createdAt: row.created_at,
    };
  }

  /** Deletes the source's snapshot, if any. */
  async delete(sourceId: string): Promise<void> {
    await this.database.executor.query(
      { name: 'es_delete_snapshot', text: deleteSnapshotSql(this.s), values: [sourceId] },
      { idempotent: true },
    );
  }
}
