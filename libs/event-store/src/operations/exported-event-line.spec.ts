import { exportedEventLineBytes, exportedEventLines } from './exported-event-line.js';

/** A row as COPY's text format writes it: tab-separated, `\N` for null, escapes for `\`, tab, CR, LF. */
function copyRow(fields: (string | null)[]): string {
  const escape = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  return `${fields.map((field) => (field === null ? '\\N' : escape(field))).join('\t')}\n`;
}

const CHECKSUM = '9d3d47a009e05f6aa9c9c8009a095ec5657093aa06d060fab559c4f0357bb0b4';

/** The 13 fields of an export row (in the export query's order), with some replaced. */
function row(overrides: Partial<Record<number, string | null>> = {}): string {
  const fields: (string | null)[] = [
    '41',
    '0adb7509-4c4f-4068-9586-eba419d36388',
    'game-1',
    '3',
    'GuessMade',
    '1',
    '{"guess" : "crane", "score" : 7}',
    '{"correlation" : "bench"}',
    null,
    null,
    null,
    '2026-12-01 21:19:59.54019+00',
    `\\x${CHECKSUM}`,
  ];
  for (const [index, value] of Object.entries(overrides)) fields[Number(index)] = value!;
  return copyRow(fields);
}

/** Both paths over the same rows, which must agree byte for byte. */
function convert(rows: string): { bytes: string; strings: string; count: number; lastPosition: number | null } {
  const input = Buffer.from(rows, 'utf8');
  const converted = exportedEventLineBytes(input, 0, input.length);
  const { text, count } = exportedEventLines(rows);
  expect(converted.count).toBe(count);
  return { bytes: converted.bytes.toString('utf8'), strings: text, count, lastPosition: converted.lastPosition };
}

describe('exportedEventLineBytes', () => {
  it('copies a plain row into the line the string path writes', () => {
    const { bytes, strings, lastPosition } = convert(row());
    expect(bytes).toBe(strings);
    expect(JSON.parse(bytes)).toEqual({
      globalPosition: 41,
      eventId: '0adb7509-4c4f-4068-9586-eba419d36388',
      streamId: 'game-1',
      streamVersion: 3,
      eventType: 'GuessMade',
      schemaVersion: 1,
      data: { guess: 'crane', score: 7 },
      metadata: { correlation: 'bench' },
      causationId: null,
      correlationId: null,
      tags: null,
      createdAt: '2026-12-01T21:19:59.54019+00:00',
      checksum: CHECKSUM,
    });
    expect(lastPosition).toBe(41);
  });

  it.each([
    [
      'ids and tags',
      { 8: 'c388956f-2275-466d-89eb-3a88ec6d9139', 9: '8935b766-b8b8-420a-8317-a2ad40abed93', 10: '["word:crane", "guild:7"]' },
    ],
    ['an escaped quote and a backslash in data', { 6: '{"say" : "\\"hi\\" \\\\ there"}' }],
    ['a raw line break and a tab between tokens of data', { 6: '{"a" :\n\t1,\r\n "b" : 2}' }],
    ['a raw line break in metadata', { 7: '{\n"m" : 1}' }],
    ['non-ASCII text', { 2: 'partie-été-🎲', 6: '{"mot" : "crème brûlée 🎲"}' }],
    ['a quote and a backslash in the stream id', { 2: 'game-"quoted"\\back' }],
    ['a quote in the event type', { 4: 'Guess"Made' }],
    ['a tag holding a backslash and a quote', { 10: '["say:\\"hi\\"", "path:a\\\\b"]' }],
    ['a long stream id', { 2: `game-${'x'.repeat(200)}` }],
    ['long data', { 6: `{"text" : "${'y'.repeat(5000)}"}` }],
  ])('writes the same line as the string path for %s', (_, overrides) => {
    const { bytes, strings } = convert(row(overrides));
    expect(bytes).toBe(strings);
    JSON.parse(bytes);
  });

  it('converts many rows, plain and escaped mixed, in order, and reports the last position', () => {
    const rows = Array.from({ length: 500 }, (_, i) =>
      row({
        0: String(i + 1),
        3: String(i + 1),
        ...(i % 7 === 0 ? { 6: `{"n" : ${i},\n"s" : "a\\\\b"}` } : {}),
        ...(i % 11 === 0 ? { 10: '["t:1"]' } : {}),
      }),
    ).join('');
    const { bytes, strings, count, lastPosition } = convert(rows);
    expect(count).toBe(500);
    expect(bytes).toBe(strings);
    expect(
      bytes
        .split('\n')
        .slice(0, -1)
        .map((line) => (JSON.parse(line) as { globalPosition: number }).globalPosition),
    ).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(lastPosition).toBe(500);
  });

  it('converts only the rows of the range it is given', () => {
    const rows = row({ 0: '1' }) + row({ 0: '2' }) + row({ 0: '3' });
    const input = Buffer.from(rows);
    const first = Buffer.byteLength(row({ 0: '1' }));
    const second = first + Buffer.byteLength(row({ 0: '2' }));
    const converted = exportedEventLineBytes(input, first, second);
    expect(converted.count).toBe(1);
    expect(converted.lastPosition).toBe(2);
    expect((JSON.parse(converted.bytes.toString()) as { globalPosition: number }).globalPosition).toBe(2);
  });

  it('writes nothing for an empty range', () => {
    expect(exportedEventLineBytes(Buffer.from(row()), 0, 0)).toMatchObject({ count: 0, lastPosition: null });
  });
});
