import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { tagLockNames } from '../storage/sql/append-to-stream.sql.js';
import { optionalInteger } from '../validation/paging.validation.js';
import { parseImportLine, type ImportLine } from './import-line.validation.js';
import type { ImportOptions, ImportResult } from './import-options.js';
import { importEventsSql, importLocksSql, importProblemsSql } from './sql/import-events.sql.js';

interface ProblemRow {
  n: string;
  problem: 'present' | 'checksum' | 'duplicate' | 'deleted' | 'version';
  /** The stream's version before the line: stored here, or that of its batch's line before it. */
  previous: string | null;
}

const DEFAULT_BATCH = 1000;
/**
 * Most distinct streams in one batch: each takes an advisory lock, an entry of the lock table the
 * whole cluster shares (sized for `max_locks_per_transaction` × connections, 64 × 100 by default);
 * a batch of 10,000 one-event streams would take most of it. A batch ends early at this many.
 */
const MAX_BATCH_STREAMS = 1000;

/**
 * `import`: the NDJSON of an export into this store, a batch of lines per transaction. Each event
 * keeps its id, stream, version, data and metadata bytes, `createdAt` and checksum (checked against
 * its fields), and takes this store's next position, in the lines' order, so that `$all` order is
 * the source's. An event stored already at the same place is skipped, so a re-run, or a run after
 * a kill, stores nothing twice; a bad line stops the import with its number, its batch unwritten.
 */
@Injectable()
export class EventImporter {
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {}

  async import(input: NodeJS.ReadableStream, options: ImportOptions = {}): Promise<ImportResult> {
    const batchSize = optionalInteger(options.batchSize, 'batchSize', 1) ?? DEFAULT_BATCH;
    if (batchSize > 10_000) throw new InvalidArgumentError('batchSize must be at most 10000', { batchSize });
    const result: ImportResult = { read: 0, imported: 0, skipped: 0, interrupted: false };
    let batch: ImportLine[] = [];
    let streams = new Set<string>();
    let lineNumber = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      if (text.trim() === '') continue;
      const line = parseImportLine(text, lineNumber);
      batch.push(line);
      streams.add(line.streamId);
      if (batch.length < batchSize && streams.size < MAX_BATCH_STREAMS) continue;
      await this.store(batch, result, options);
      [batch, streams] = [[], new Set()];
      if (options.signal?.aborted) return { ...result, interrupted: true };
    }
    if (batch.length > 0) await this.store(batch, result, options);
    return result;
  }

  private async store(batch: ImportLine[], result: ImportResult, options: ImportOptions): Promise<void> {
    refuseRepeatedIds(batch);
    const stored = await this.storeBatch(batch);
    result.read += batch.length;
    result.imported += stored;
    result.skipped += batch.length - stored;
    options.onProgress?.({ done: result.read, total: undefined });
  }

  /** One batch in one transaction: the appends' locks, the checks, then the rows. Returns the events stored. */
  private async storeBatch(batch: ImportLine[]): Promise<number> {
    const s = this.database.schema;
    const json = `[${batch.map((line) => line.text).join(',')}]`;
    const locks = tagLockNames(
      batch.map((line) => ({ event_type: line.eventType, tags: line.tags })),
      [],
    );
    const client = await this.database.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      await client.query(importLocksSql(s), [[...new Set(batch.map((line) => line.streamId))], locks.names, locks.exclusive]);
      const problems = (await client.query<ProblemRow>(importProblemsSql(s), [json])).rows;
      const refused = problems.find((row) => row.problem !== 'present');
      if (refused !== undefined) throw refusal(refused, batch[Number(refused.n) - 1]!);
      const present = problems.map((row) => row.n);
      if (present.length < batch.length) await client.query(importEventsSql(s), [json, present]);
      await client.query('COMMIT');
      return batch.length - present.length;
    } catch (error) {
      await rollback(client);
      throw error;
    } finally {
      client.release();
    }
  }
}

async function rollback(client: pg.PoolClient): Promise<void> {
  await client.query('ROLLBACK').catch(() => undefined);
}

function refuseRepeatedIds(batch: ImportLine[]): void {
  const seen = new Map<string, number>();
  for (const line of batch) {
    const first = seen.get(line.eventId);
    if (first !== undefined) {
      throw new InvalidArgumentError(`line ${line.lineNumber}: event id ${line.eventId} is on line ${first} already`, {
        line: line.lineNumber,
        eventId: line.eventId,
      });
    }
    seen.set(line.eventId, line.lineNumber);
  }
}

/** The error for the first line of a batch that cannot be stored. */
function refusal(row: ProblemRow, line: ImportLine): InvalidArgumentError {
  const at = `line ${line.lineNumber}`;
  const details = { line: line.lineNumber, problem: row.problem, eventId: line.eventId, streamId: line.streamId };
  switch (row.problem) {
    case 'checksum':
      return new InvalidArgumentError(`${at}: the checksum does not match the event's fields: the line was changed after export`, details);
    case 'duplicate':
      return new InvalidArgumentError(
        `${at}: event id ${line.eventId} is stored in this store already, as another event (not version ${line.streamVersion} of '${line.streamId}' with this checksum)`,
        details,
      );
    case 'deleted':
      return new InvalidArgumentError(`${at}: stream '${line.streamId}' is soft-deleted in this store`, details);
    default:
      return new InvalidArgumentError(
        `${at}: version ${line.streamVersion} of '${line.streamId}' is not above the stream's version here (${row.previous ?? 0}): another event holds it; import into a store without that stream`,
        { ...details, actualVersion: Number(row.previous ?? 0) },
      );
  }
}
