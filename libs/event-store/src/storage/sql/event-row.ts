import { storedChecksumSql } from './checksum.sql.js';

/**
 * The columns of an event as every read selects them. The checksum is verified by the server,
 * which has the stored JSON text at hand; the client only reads the verdict (`intact`).
 */
export const eventColumns = (alias: string): string => `
  ${alias}.global_position, ${alias}.stream_id, ${alias}.stream_version, ${alias}.event_id,
  ${alias}.event_type, ${alias}.schema_version, ${alias}.data::text AS data,
  ${alias}.metadata::text AS metadata, ${alias}.causation_id, ${alias}.correlation_id,
  ${alias}.created_at, ${alias}.tags, ${alias}.checksum = ${storedChecksumSql(alias)} AS intact`;

/** An event row as read: bigint columns come as strings, JSON as its stored text. */
export interface EventRow {
  global_position: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  event_type: string;
  schema_version: number;
  data: string;
  metadata: string;
  causation_id: string | null;
  correlation_id: string | null;
  created_at: Date;
  /** `null` when the event has no tags. */
  tags: string[] | null;
  /** Whether the stored checksum matches the row's content. */
  intact: boolean;
  /** Set when the row was read through a link: the stream it is linked into, and its place there. */
  link_stream_id?: string | null;
  link_version?: string | null;
  linked_at?: Date | null;
}
