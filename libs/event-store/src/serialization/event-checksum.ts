import { createHash } from 'node:crypto';

/** The fields an event's checksum covers, as their stored text. */
export interface ChecksummedFields {
  streamId: string;
  streamVersion: string;
  eventId: string;
  eventType: string;
  schemaVersion: string;
  data: string;
  metadata: string;
  causationId: string | null;
  correlationId: string | null;
}

/**
 * SHA-256 of an event's identity and content, exactly as `append_to_stream` computes it in SQL:
 * the fields' text joined by U+001F (which none of them can hold raw: ids and types refuse control
 * characters, and JSON text escapes them).
 */
export function eventChecksum(fields: ChecksummedFields): Buffer {
  const text = [
    fields.streamId,
    fields.streamVersion,
    fields.eventId,
    fields.eventType,
    fields.schemaVersion,
    fields.data,
    fields.metadata,
    fields.causationId ?? '',
    fields.correlationId ?? '',
  ].join('\u001f');
  return createHash('sha256').update(text, 'utf8').digest();
}
