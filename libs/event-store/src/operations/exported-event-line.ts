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
 * and how many, by way of strings: the path of rows that {@link exportedEventLineBytes} does not
 * copy byte for byte (an escape in a field, a quote in a name). The text is split at tabs and
 * newlines in one pass (COPY escapes both inside values, and every row has {@link FIELDS} fields),
 * in that statement's column order. `createdAt` comes as ISO DateStyle text in UTC, the checksum as
 * bytea's hex output (`\x...`, its backslash doubled by COPY).
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

/** The NDJSON lines of whole rows, their count, and the source position of the last (`null`: none). */
export interface ExportedEventBytes {
  /** The lines, each with its newline. */
  bytes: Buffer;
  /** How many lines. */
  count: number;
  /** The `globalPosition` of the last row converted (`null`: none). */
  lastPosition: number | null;
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
/** What the line holds before each field of a row (in {@link exportEventsSql}'s order), and after the last. */
const BEFORE = [
  '{"globalPosition":',
  ',"eventId":"',
  '","streamId":"',
  '","streamVersion":',
  ',"eventType":"',
  '","schemaVersion":',
  ',"data":',
  ',"metadata":',
  ',"causationId":',
  ',"correlationId":',
  ',"tags":',
  ',"createdAt":"',
  ':00","checksum":"',
].map(ascii);
const AFTER = ascii('"}\n');
const NULL = ascii('null');
/**
 * An upper bound of what a row's line adds to the row's own bytes on the byte path: the constant
 * JSON and the quotes of the nullable ids (`null` for COPY's `\N` adds 2 more, which the row's
 * twelve tabs and the checksum's dropped `\\x`, not written, more than cover).
 */
const LINE_OVERHEAD = BEFORE.reduce((sum, bytes) => sum + bytes.length, AFTER.length + 4);

const TAB = 0x09;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const T = 0x54;
/** Indexes of fields of a row (in {@link exportEventsSql}'s order) that the byte path looks at. */
const STREAM_ID = 2;
const EVENT_TYPE = 4;
const CAUSATION_ID = 8;
const CORRELATION_ID = 9;
const TAGS = 10;
const CREATED_AT = 11;
const CHECKSUM = 12;
/** Longer fields are copied by Buffer#copy, shorter ones byte by byte (cheaper than the call). */
const LONG_FIELD = 48;

/**
 * {@link exportedEventLines} on bytes, the same bytes out: the NDJSON lines of the whole rows in
 * `input[start, end)` (which ends with a newline), written into one buffer. A row is copied field by
 * field between constant JSON, never decoded, so a store's text goes out as it came in; a row with a
 * backslash in a text field (an escape of COPY's) or a quote or control character in a name takes
 * the string path. This is most of what an export costs in this process.
 */
export function exportedEventLineBytes(input: Buffer, start: number, end: number): ExportedEventBytes {
  let out: Buffer = Buffer.allocUnsafe(2 * (end - start) + 4096);
  let o = 0;
  let count = 0;
  let lastRow = -1;
  const tabs = new Int32Array(FIELDS + 1);
  for (let row = start; row < end;) {
    const newline = input.indexOf(NEWLINE, row);
    const whole = newline >= 0 && newline < end;
    const next = whole ? newline + 1 : end;
    lastRow = row;
    if (!whole || !fieldEnds(input, row, newline, tabs) || !plainRow(input, tabs)) {
      const lines = exportedEventLines(input.toString('utf8', row, next));
      const length = Buffer.byteLength(lines.text);
      out = withRoom(out, o, length);
      o += out.write(lines.text, o, length, 'utf8');
      count += lines.count;
      row = next;
      continue;
    }
    out = withRoom(out, o, next - row + LINE_OVERHEAD);
    for (let f = 0; f < FIELDS; f++) {
      const prefix = BEFORE[f]!;
      for (let p = 0; p < prefix.length; p++) out[o++] = prefix[p]!;
      let from = tabs[f]! + 1;
      const to = tabs[f + 1]!;
      if (f === CAUSATION_ID || f === CORRELATION_ID || f === TAGS) {
        if (input[from] === BACKSLASH) {
          for (let p = 0; p < NULL.length; p++) out[o++] = NULL[p]!;
          continue;
        }
        if (f !== TAGS) out[o++] = QUOTE;
      } else if (f === CHECKSUM) {
        from += 3; // `\\x`: bytea's hex prefix, its backslash doubled by COPY
      }
      if (f === CREATED_AT) {
        o = copyTimestamp(input, from, to, out, o);
      } else if (to - from > LONG_FIELD) {
        o += input.copy(out, o, from, to);
      } else {
        for (let p = from; p < to; p++) out[o++] = input[p]!;
      }
      if (f === CAUSATION_ID || f === CORRELATION_ID) out[o++] = QUOTE;
    }
    for (let p = 0; p < AFTER.length; p++) out[o++] = AFTER[p]!;
    count++;
    row = next;
  }
  return { bytes: out.subarray(0, o), count, lastPosition: lastRow < 0 ? null : positionAt(input, lastRow) };
}

/**
 * Where the fields of the row `input[row, newline)` end, into `tabs` (`tabs[0]`: before the first,
 * `tabs[FIELDS]`: the newline); false unless the row has {@link FIELDS} fields.
 */
function fieldEnds(input: Buffer, row: number, newline: number, tabs: Int32Array): boolean {
  tabs[0] = row - 1;
  for (let field = 1; field < FIELDS; field++) {
    const tab = input.indexOf(TAB, tabs[field - 1]! + 1);
    if (tab < 0 || tab >= newline) return false;
    tabs[field] = tab;
  }
  tabs[FIELDS] = newline;
  const extra = input.indexOf(TAB, tabs[FIELDS - 1]! + 1);
  return extra < 0 || extra > newline;
}

/**
 * Whether a row can be copied as it is: no backslash (an escape of COPY's) before its checksum but
 * the `\\N` of a null id or tags, no quote or control character in its stream id or event type.
 */
function plainRow(input: Buffer, tabs: Int32Array): boolean {
  for (
    let slash = input.indexOf(BACKSLASH, tabs[0]! + 1);
    slash >= 0 && slash < tabs[CHECKSUM]!;
    slash = input.indexOf(BACKSLASH, slash + 1)
  ) {
    const isNull =
      (slash === tabs[CAUSATION_ID]! + 1 || slash === tabs[CORRELATION_ID]! + 1 || slash === tabs[TAGS]! + 1) &&
      input[slash + 1] === 0x4e &&
      input[slash + 2] === TAB;
    if (!isNull) return false;
  }
  return plainName(input, tabs[STREAM_ID]! + 1, tabs[STREAM_ID + 1]!) && plainName(input, tabs[EVENT_TYPE]! + 1, tabs[EVENT_TYPE + 1]!);
}

/** Whether `input[from, to)` needs no escape in a JSON string (no quote, no control character; COPY escaped any backslash). */
function plainName(input: Buffer, from: number, to: number): boolean {
  for (let p = from; p < to; p++) {
    if (input[p] === QUOTE || input[p]! < SPACE) return false;
  }
  return true;
}

/** Copies ISO DateStyle's `date time` as ISO 8601's `dateTtime`; returns the new end of `out`. */
function copyTimestamp(input: Buffer, from: number, to: number, out: Buffer, o: number): number {
  let p = from;
  for (; p < to && input[p] !== SPACE; p++) out[o++] = input[p]!;
  if (p < to) {
    out[o++] = T;
    p++;
  }
  for (; p < to; p++) out[o++] = input[p]!;
  return o;
}

/** `out`, or a copy of its first `used` bytes in a buffer with room for `more` after them. */
function withRoom(out: Buffer, used: number, more: number): Buffer {
  if (used + more <= out.length) return out;
  const grown = Buffer.allocUnsafe(2 * (used + more));
  out.copy(grown, 0, 0, used);
  return grown;
}

/** The integer that starts a row (its `global_position`). */
function positionAt(input: Buffer, row: number): number {
  let value = 0;
  for (let i = row; input[i]! >= 0x30 && input[i]! <= 0x39; i++) value = value * 10 + input[i]! - 0x30;
  return value;
}
