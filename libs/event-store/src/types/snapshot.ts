import type { JsonObject } from './event-data.js';

/** A snapshot of a source (an aggregate or process) at one version of its stream. */
export interface SnapshotData {
  /** The snapshotted source, usually its stream id. */
  sourceId: string;
  /** The version of the source's stream the snapshot reflects. */
  sourceVersion: number;
  /** The snapshot's type name. */
  sourceType: string;
  data: JsonObject;
  metadata?: JsonObject;
}

/** A stored snapshot. */
export interface RecordedSnapshot extends Required<SnapshotData> {
  createdAt: Date;
}
