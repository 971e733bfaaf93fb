/**
 * SQL for an event's checksum: SHA-256 of its identity and content, the fields' text joined by
 * U+001F (which none of them holds raw: ids and types refuse control characters, JSON text escapes
 * them). `append_to_stream` (migration 1764230400000) computes the same expression on insert; the
 * two must stay identical, or every stored event would read as corrupted.
 */
export function checksumSql(fields: {
  streamId: string;
  streamVersion: string;
  eventId: string;
  eventType: string;
  schemaVersion: string;
  data: string;
  metadata: string;
  causationId: string;
  correlationId: string;
  /** A `text[]` expression; without it (or when it is NULL) the checksum is that of an untagged event. */
  tags?: string;
}): string {
  // concat_ws skips a NULL argument, so an event without tags keeps the checksum it had before
  // tags existed; tags are joined by U+001E, which no tag holds.
  const tags = fields.tags === undefined ? '' : `, array_to_string(${fields.tags}, E'\\x1e')`;
  return `sha256(convert_to(concat_ws(E'\\x1f', ${fields.streamId}, (${fields.streamVersion})::text,
    ${fields.eventId}::text, ${fields.eventType}, ${fields.schemaVersion}::text, ${fields.data}::text,
    ${fields.metadata}::text, coalesce(${fields.causationId}::text, ''),
    coalesce(${fields.correlationId}::text, '')${tags}), 'UTF8'))`;
}

/** The checksum of a stored row `alias` of `events`. */
export const storedChecksumSql = (alias: string): string =>
  checksumSql({
    streamId: `${alias}.stream_id`,
    streamVersion: `${alias}.stream_version`,
    eventId: `${alias}.event_id`,
    eventType: `${alias}.event_type`,
    schemaVersion: `${alias}.schema_version`,
    data: `${alias}.data`,
    metadata: `${alias}.metadata`,
    causationId: `${alias}.causation_id`,
    correlationId: `${alias}.correlation_id`,
    tags: `${alias}.tags`,
  });
