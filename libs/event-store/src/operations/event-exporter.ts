import { Inject, Injectable } from '@nestjs/common';
import { once } from 'node:events';
import { setImmediate } from 'node:timers/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { clientConfig, withClient } from '../storage/postgres-connection.js';
import { assertName, likePrefix } from '../validation/stream-id.validation.js';
import { optionalInteger } from '../validation/paging.validation.js';
import { exportedEventLineBytes } from './exported-event-line.js';
import type { ProgressListener } from './progress.js';
import type { ExportOptions, ExportResult } from './export-options.js';
import { estimatedEventCountSql, exportCursorSql, exportEventsSql, type ExportSelection } from './sql/export-events.sql.js';

/**
 * `export`: every visible event, in `$all` order, as NDJSON ({@link ExportedEventLine}), streamed
 * from one COPY in a read-only snapshot so that memory stays flat for any store size and the
 * output is a consistent cut of `$all`. Events committed meanwhile are left to a resumed export.
 */
@Injectable()
export class EventExporter {
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {}

  async export(output: NodeJS.WritableStream, options: ExportOptions = {}): Promise<ExportResult> {
    const fromPosition = optionalInteger(options.fromPosition, 'fromPosition', 0) ?? 0;
    const streamPattern = options.streamPrefix === undefined ? undefined : likePrefix(options.streamPrefix, 'streamPrefix');
    options.eventTypes?.forEach((type, index) => assertName(type, `eventTypes[${index}]`));
    // A connection of its own, without the pool's client-side query timeout: node-postgres would
    // apply that to the whole COPY (failing any export longer than it), and a COPY never clears it.
    const { connection, options: store } = this.database;
    const config = clientConfig(connection, {
      connectionTimeoutMs: store.connectionTimeoutMs,
      applicationName: `${store.applicationName}-export`,
    });
    return withClient(config, async (client) => {
      await client.query(
        `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = 0; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL bytea_output = 'hex'; SET LOCAL client_encoding = 'UTF8'; SET LOCAL enable_seqscan = off`,
      );
      const selection = { ...(await this.cursor(client, fromPosition)), streamPattern, eventTypes: options.eventTypes };
      const filtered = streamPattern !== undefined || options.eventTypes !== undefined;
      const total = filtered || fromPosition > 0 ? undefined : await this.estimate(client);
      return this.copy(client, selection, output, options, total);
    });
  }

  private async cursor(client: pg.ClientBase, fromPosition: number): Promise<Pick<ExportSelection, 'cursorTransaction' | 'fromPosition'>> {
    if (fromPosition === 0) return { cursorTransaction: '0', fromPosition };
    const rows = (await client.query<{ transaction_id: string }>(exportCursorSql(this.database.schema), [fromPosition])).rows;
    if (rows.length === 0) {
      throw new InvalidArgumentError(
        `fromPosition ${fromPosition} is no event's position in this store: give the position of an exported event`,
        {
          fromPosition,
        },
      );
    }
    return { cursorTransaction: rows[0]!.transaction_id, fromPosition };
  }

  private async estimate(client: pg.ClientBase): Promise<number | undefined> {
    const estimate = Number((await client.query<{ estimate: string }>(estimatedEventCountSql(this.database.schema))).rows[0]!.estimate);
    // -1: never vacuumed nor analysed (e.g. right after a bulk load), so unknown.
    return estimate < 0 ? undefined : estimate;
  }

  private async copy(
    client: pg.ClientBase,
    selection: ExportSelection,
    output: NodeJS.WritableStream,
    options: ExportOptions,
    total: number | undefined,
  ): Promise<ExportResult> {
    // Room for the server's rows to be read ahead while a slice is converted (below): the server
    // and this process then work at once, on two cores, rather than in turn.
    const rows = client.query(copyTo(exportEventsSql(this.database.schema, selection, client), { highWaterMark: READ_AHEAD_BYTES }));
    const progress = new ExportProgress(options.onProgress, total);
    let lastPosition: number | null = null;
    for await (const { bytes, start, end } of wholeRowSlices(rows as AsyncIterable<Buffer>)) {
      const lines = exportedEventLineBytes(bytes, start, end);
      lastPosition = lines.lastPosition ?? lastPosition;
      if (!output.write(lines.bytes)) await once(output, 'drain');
      progress.add(lines.count);
      if (options.signal?.aborted) return progress.result(lastPosition, true);
      // A turn of the event loop between slices: the socket is read meanwhile.
      await setImmediate();
    }
    return progress.result(lastPosition, false);
  }
}

/** How much of the server's output may wait, read, for conversion. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/** About how much is converted at a time. */
const SLICE_BYTES = 256 * 1024;

/**
 * The server's COPY output as slices of whole rows, about {@link SLICE_BYTES} each: chunks end
 * anywhere, inside a row or a character, so a row split between chunks is joined (the only bytes
 * copied here). A newline byte never occurs inside a UTF-8 sequence.
 */
async function* wholeRowSlices(chunks: AsyncIterable<Buffer>): AsyncGenerator<{ bytes: Buffer; start: number; end: number }> {
  // The pieces of a row split between chunks, joined once its newline comes.
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    let from = 0;
    if (pending.length > 0) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        pending.push(chunk);
        continue;
      }
      const joined = Buffer.concat([...pending, chunk.subarray(0, newline + 1)]);
      pending = [];
      yield { bytes: joined, start: 0, end: joined.length };
      from = newline + 1;
    }
    for (let end = wholeRowsEnd(chunk, from); end > from; from = end, end = wholeRowsEnd(chunk, from)) {
      yield { bytes: chunk, start: from, end };
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
}

const NEWLINE = 0x0a;

/** The end of the whole rows in `bytes` from `start` within about {@link SLICE_BYTES}, or `start` if there are none. */
function wholeRowsEnd(bytes: Buffer, start: number): number {
  const newline = bytes.lastIndexOf(NEWLINE, Math.min(bytes.length - 1, start + SLICE_BYTES));
  if (newline >= start) return newline + 1;
  const next = bytes.indexOf(NEWLINE, start);
  return next < 0 ? start : next + 1;
}

/** Counts what an export wrote and tells its listener after each chunk of lines. */
class ExportProgress {
  private exported = 0;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly total: number | undefined,
  ) {}

  add(count: number): void {
    this.exported += count;
    this.tell();
  }

  result(lastPosition: number | null, interrupted: boolean): ExportResult {
    this.tell();
    return { exported: this.exported, lastPosition, interrupted };
  }

  private tell(): void {
    this.listener?.({ done: this.exported, total: this.total === undefined ? undefined : Math.max(this.total, this.exported) });
  }
}
