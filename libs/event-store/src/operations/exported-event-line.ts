/**
 * One exported event, as a line of the NDJSON that `event-store export` writes and `import` reads:
 * every field of the stored event, `data` and `metadata` as the very JSON text that was stored
 * (the checksum covers those bytes). Where that text holds a raw line break (JSON allows one
 * between tokens), the line carries the JSON re-serialised and the stored text in `rawData` /
 * `rawMetadata`, so that every line stays one line and the bytes still travel.
 */
export interface ExportedEventLine {
  /** The event's position in the source store (informational: an import assigns its own). */
  globalPosition: number;
  eventId: string;
  streamId: string;
  streamVersion: number;
  eventType: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  causationId: string | null;
  correlationId: string | null;
  tags: string[] | null;
  /** ISO 8601 with microseconds, UTC: `2026-12-01T17:59:05.617024+00:00`. */
  createdAt: string;
  /** SHA-256 of the event's identity and content, hex. */
  checksum: string;
  /** The stored `data` text, when it holds a raw line break. */
  rawData?: string;
  /** The stored `metadata` text, when it holds a raw line break. */
  rawMetadata?: string;
}

const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A field of COPY's text format as it was: COPY writes a backslash before `\`, and letters for control characters. */
function copyField(text: string): string {
  return text.includes('\\') ? text.replace(/\\(.)/g, (_, character: string) => COPY_ESCAPES[character] ?? character) : text;
}

const nullable = (text: string): string => (text === '\\N' ? 'null' : `"${text}"`);

/** `data` or `metadata` text for the line: as stored, unless a raw line break would split the line. */
function jsonField(name: 'data' | 'metadata', stored: string): string {
  if (!stored.includes('\n') && !stored.includes('\r')) return `"${name}":${stored}`;
  const raw = name === 'data' ? 'rawData' : 'rawMetadata';
  return `"${name}":${JSON.stringify(JSON.parse(stored))},"${raw}":${JSON.stringify(stored)}`;
}

/** How many fields a row of {@link exportEventsSql}'s COPY text has. */
const FIELDS = 13;

/** `2026-12-01 17:59:05.617024+00` (ISO DateStyle, UTC) as ISO 8601: `2026-12-01T17:59:05.617024+00:00`. */
const isoTimestamp = (text: string): string => `"${text.replace(' ', 'T')}:00"`;

/**
 * The NDJSON lines (each with its newline) of whole rows of {@link exportEventsSql}'s COPY text,
 * and how many: the text is split at tabs and newlines in one pass (COPY escapes both inside
 * values, and every row has {@link FIELDS} fields), in that statement's column order. `createdAt`
 * comes as ISO DateStyle text in UTC, the checksum as bytea's hex output (`\x...`, its backslash
 * doubled by COPY).
 */
export function exportedEventLines(rows: string): { text: string; count: number } {
  const f = rows.split(/[\t\n]/);
  let text = '';
  let count = 0;
  for (let i = 0; i + FIELDS <= f.length; i += FIELDS, count++) {
    text +=
      `{"globalPosition":${f[i]},"eventId":"${f[i + 1]}","streamId":${JSON.stringify(copyField(f[i + 2]!))},` +
      `"streamVersion":${f[i + 3]},"eventType":${JSON.stringify(copyField(f[i + 4]!))},"schemaVersion":${f[i + 5]},` +
      `${jsonField('data', copyField(f[i + 6]!))},${jsonField('metadata', copyField(f[i + 7]!))},` +
      `"causationId":${nullable(f[i + 8]!)},"correlationId":${nullable(f[i + 9]!)},` +
      `"tags":${f[i + 10] === '\\N' ? 'null' : copyField(f[i + 10]!)},"createdAt":${isoTimestamp(f[i + 11]!)},` +
      `"checksum":"${f[i + 12]!.slice(3)}"}\n`;
  }
  return { text, count };
}
