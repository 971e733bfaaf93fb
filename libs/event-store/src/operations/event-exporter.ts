import { Inject, Injectable } from '@nestjs/common';
import { once } from 'node:events';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { assertName, likePrefix } from '../validation/stream-id.validation.js';
import { optionalInteger } from '../validation/paging.validation.js';
import { exportedEventLine } from './exported-event-line.js';
import type { LongOperationOptions, ProgressListener } from './progress.js';
import { estimatedEventCountSql, exportCursorSql, exportEventsSql, type ExportSelection } from './sql/export-events.sql.js';

/** Options of `EventStore.exportEvents`. */
export interface ExportOptions extends LongOperationOptions {
  /** The `$all` cursor to export after: the position of the last event already exported. Default `0`, the start. */
  fromPosition?: number;
  /** Only events of streams whose id starts with this. */
  streamPrefix?: string;
  /** Only events of these types. */
  eventTypes?: string[];
}

/** What an export wrote. */
export interface ExportResult {
  /** Events written. */
  exported: number;
  /** The position of the last event written (the cursor to resume after), or `null` if none was. */
  lastPosition: number | null;
  /** Whether the signal stopped it; the output then ends with a whole line. */
  interrupted: boolean;
}

/** Progress is told at most this often (events), besides at the end. */
const PROGRESS_EVERY = 10_000;

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
    const client = await this.database.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = 0; SET LOCAL TimeZone = 'UTC'`);
      const selection = { ...(await this.cursor(client, fromPosition)), streamPattern, eventTypes: options.eventTypes };
      const filtered = streamPattern !== undefined || options.eventTypes !== undefined;
      const total = filtered || fromPosition > 0 ? undefined : await this.estimate(client);
      const result = await this.copy(client, selection, output, options, total);
      if (result.interrupted) broken = new Error('export interrupted');
      else await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      // A COPY left half-read leaves the connection mid-protocol: it is closed, not reused.
      client.release(broken);
    }
  }

  private async cursor(client: pg.PoolClient, fromPosition: number): Promise<Pick<ExportSelection, 'cursorTransaction' | 'fromPosition'>> {
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

  private async estimate(client: pg.PoolClient): Promise<number> {
    return Number((await client.query<{ estimate: string }>(estimatedEventCountSql(this.database.schema))).rows[0]!.estimate);
  }

  private async copy(
    client: pg.PoolClient,
    selection: ExportSelection,
    output: NodeJS.WritableStream,
    options: ExportOptions,
    total: number | undefined,
  ): Promise<ExportResult> {
    const rows = client.query(copyTo(exportEventsSql(this.database.schema, selection, client)));
    const progress = new ExportProgress(options.onProgress, total);
    let pending = '';
    let lastLine = '';
    for await (const chunk of rows as AsyncIterable<Buffer>) {
      const text = pending + chunk.toString('utf8');
      const end = text.lastIndexOf('\n');
      pending = text.slice(end + 1);
      if (end < 0) continue;
      const lines = text.slice(0, end).split('\n').map(exportedEventLine);
      lastLine = lines[lines.length - 1]!;
      if (!output.write(`${lines.join('\n')}\n`)) await once(output, 'drain');
      progress.add(lines.length);
      if (options.signal?.aborted) return progress.result(lastLine, true);
    }
    return progress.result(lastLine, false);
  }
}

/** Counts what an export wrote and tells its listener every {@link PROGRESS_EVERY} events. */
class ExportProgress {
  private exported = 0;
  private told = 0;

  constructor(
    private readonly listener: ProgressListener | undefined,
    private readonly total: number | undefined,
  ) {}

  add(count: number): void {
    this.exported += count;
    if (this.exported - this.told >= PROGRESS_EVERY) this.tell();
  }

  result(lastLine: string, interrupted: boolean): ExportResult {
    this.tell();
    const lastPosition = lastLine === '' ? null : Number(/^\{"globalPosition":(\d+)/.exec(lastLine)![1]);
    return { exported: this.exported, lastPosition, interrupted };
  }

  private tell(): void {
    this.told = this.exported;
    this.listener?.({ done: this.exported, total: this.total === undefined ? undefined : Math.max(this.total, this.exported) });
  }
}
