/** A snapshot row as read. */
export interface SnapshotRow {
  source_id: string;
  source_version: string;
  source_type: string;
  data: string;
  metadata: string;
  created_at: Date;
}

/**
 * $1 source id, $2 version, $3 type, $4 data JSON, $5 metadata JSON. Replaces the previous one,
 * unless that one reflects a later version of the source (a slower, concurrent snapshotter).
 */
export const recordSnapshotSql = (s: string): string => `
  INSERT INTO ${s}.snapshots (source_id, source_version, source_type, data, metadata)
  VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
  ON CONFLICT (source_id) DO UPDATE
    SET source_version = excluded.source_version, source_type = excluded.source_type,
        data = excluded.data, metadata = excluded.metadata, created_at = now()
    WHERE snapshots.source_version <= excluded.source_version`;

/** $1 source id. */
export const readSnapshotSql = (s: string): string => `
  SELECT source_id, source_version, source_type, data::text AS data, metadata::text AS metadata, created_at
    FROM ${s}.snapshots WHERE source_id = $1`;

/** $1 source id. */
export const deleteSnapshotSql = (s: string): string => `DELETE FROM ${s}.snapshots WHERE source_id = $1`;
