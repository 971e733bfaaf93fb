import type pg from 'pg';

/** What to export: the filters of `event-store export`. */
export interface ExportSelection {
  /** The `$all` transaction id of the cursor event (`'0'` from the start), as found by {@link exportCursorSql}. */
  cursorTransaction: string;
  /** The cursor: the position of the last event already exported (`0` = the start). */
  fromPosition: number;
  /** Only streams whose id matches this LIKE pattern (`likePrefix` of a prefix). */
  streamPattern?: string;
  /** Only these event types. */
  eventTypes?: readonly string[];
}

/**
 * The `$all` place of cursor position $1: its event's transaction id, or its hard-deleted event's
 * (the cursor of a read stays valid after a hard delete). No row: an unknown cursor.
 */
export const exportCursorSql = (s: string): string => `
  SELECT transaction_id::text AS transaction_id FROM ${s}.events WHERE global_position = $1
  UNION ALL SELECT transaction_id::text FROM ${s}.hard_deleted_positions WHERE global_position = $1
  LIMIT 1`;

/**
 * The columns of an exported event as COPY text, in the order `exportedEventLineBytes` (and its string path,
 * `exportedEventLines`) reads them:
 * `tags` made JSON by the server, the rest turned into JSON by the exporter (cheaper there: the
 * server's formatting is the other half of an export's time).
 */
const exportColumns = `
  e.global_position, e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version,
  e.data, e.metadata, e.causation_id, e.correlation_id, to_json(e.tags), e.created_at, e.checksum`;

/**
 * Every visible event after the cursor in `$all` order, as one COPY: the server sends rows as fast
 * as it reads them, and the exporter writes each as an NDJSON line. COPY takes no bind parameters,
 * so the selection is written in as literals (`client.escapeLiteral`); positions are integers.
 * Needs `TimeZone = 'UTC'`, `DateStyle = 'ISO'` and `bytea_output = 'hex'`, which the exporter sets.
 */
export function exportEventsSql(s: string, selection: ExportSelection, client: pg.ClientBase): string {
  const where = [
    `(e.transaction_id, e.global_position) > (${client.escapeLiteral(selection.cursorTransaction)}::xid8, ${Math.trunc(selection.fromPosition)})`,
    'e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())',
  ];
  if (selection.streamPattern !== undefined) {
    where.push(`e.stream_id LIKE ${client.escapeLiteral(selection.streamPattern)}`);
  }
  if (selection.eventTypes !== undefined) {
    where.push(`e.event_type = ANY(ARRAY[${selection.eventTypes.map((type) => client.escapeLiteral(type)).join(', ')}]::text[])`);
  }
  return `COPY (SELECT ${exportColumns} FROM ${s}.events e
     WHERE ${where.join('\n       AND ')}
     ORDER BY e.transaction_id, e.global_position) TO STDOUT`;
}

/** About how many events the store holds (the planner's count, kept by autovacuum and ANALYZE). */
export const estimatedEventCountSql = (s: string): string => `
  SELECT greatest(c.reltuples, 0)::bigint AS estimate FROM pg_class c WHERE c.oid = '${s}.events'::regclass`;
