import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { assertSchemaVersion, isObject, optionalUuid } from '../validation/event-data.validation.js';
import { assertName, assertStreamId } from '../validation/stream-id.validation.js';
import { optionalTags } from '../validation/tags.validation.js';
import type { ExportedEventLine } from './exported-event-line.js';

/** The fields of a line the importer needs before the database sees it. */
export interface ImportLine {
  /** The line's number in the input, from 1. */
  lineNumber: number;
  /** The line's text, as read. */
  text: string;
  eventId: string;
  streamId: string;
  streamVersion: number;
  eventType: string;
  tags: string[] | null;
}

const CHECKSUM = /^[0-9a-f]{64}$/;
/** What export writes (`2026-12-01T17:59:05.617024+00:00`), and ISO 8601 with `Z`. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Reads and checks one NDJSON line of an export ({@link ExportedEventLine}); a bad line is an
 * `INVALID_ARGUMENT` that starts with `line N:` and says which field is wrong.
 */
export function parseImportLine(text: string, lineNumber: number): ImportLine {
  try {
    return checkedLine(text, lineNumber);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(`line ${lineNumber}: ${reason}`, { line: lineNumber }, error);
  }
}

function checkedLine(text: string, lineNumber: number): ImportLine {
  const line = parseJson(text);
  const eventId = optionalUuid(line.eventId, 'eventId');
  if (eventId === null) throw new Error('eventId is missing');
  assertStreamId(line.streamId);
  assertPositive(line.streamVersion, 'streamVersion');
  assertName(line.eventType, 'eventType');
  assertSchemaVersion(line.schemaVersion, 'schemaVersion');
  for (const field of ['data', 'metadata'] as const) {
    if (!isObject(line[field])) throw new Error(`${field} must be a JSON object`);
  }
  optionalUuid(line.causationId, 'causationId');
  optionalUuid(line.correlationId, 'correlationId');
  const tags = optionalTags(line.tags, 'tags');
  if (typeof line.createdAt !== 'string' || !TIMESTAMP.test(line.createdAt) || Number.isNaN(Date.parse(line.createdAt))) {
    throw new Error(`createdAt must be an ISO 8601 timestamp, got ${JSON.stringify(line.createdAt)}`);
  }
  if (typeof line.checksum !== 'string' || !CHECKSUM.test(line.checksum)) {
    throw new Error('checksum must be 64 lower-case hex digits (SHA-256)');
  }
  checkRawText(line.rawData, 'rawData');
  checkRawText(line.rawMetadata, 'rawMetadata');
  return { lineNumber, text, eventId, streamId: line.streamId, streamVersion: line.streamVersion, eventType: line.eventType, tags };
}

function parseJson(text: string): Partial<Record<keyof ExportedEventLine, unknown>> & { streamVersion?: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isObject(value)) throw new Error('not a JSON object: each line of an export is one event');
  return value as Partial<Record<keyof ExportedEventLine, unknown>>;
}

function assertPositive(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new Error(`${name} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
}

function checkRawText(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw new Error(`${name} must be the stored JSON text, as a string`);
  try {
    if (!isObject(JSON.parse(value))) throw new Error();
  } catch {
    throw new Error(`${name} must hold a JSON object's text`);
  }
}
