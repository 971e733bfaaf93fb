import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import type { DatabaseSession } from '../storage/database-executor.js';
import {
  dropTruncatedSnapshotSql,
  holdStreamSql,
  lockExpiredEventsSql,
  removeExpiredEventsSql,
  removeExpiredLinksSql,
  retentionStreamsSql,
} from '../storage/sql/retention.sql.js';
import { ALLOW_EVENT_REMOVAL } from '../storage/sql/streams.sql.js';
import { pageSize } from '../validation/paging.validation.js';
import { likePrefix } from '../validation/stream-id.validation.js';
import type { ScavengeOptions } from './scavenge-options.js';
import type { ScavengeResult } from './scavenge-result.js';

const DEFAULT_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;
/** Streams with retention metadata listed per query. */
const STREAM_PAGE = 100;

/** What one batch deleted. */
interface BatchOutcome {
  events: number;
  links: number;
}

/** A stream with retention metadata, as listed: whether it has expired events or links, and a snapshot. */
interface RetentionStream {
  streamId: string;
  expired: boolean;
  snapshot: boolean;
}

/** One scavenge under way: its options and what it has done so far. */
interface Run {
  batchSize: number;
  result: ScavengeResult;
  signal: AbortSignal | undefined;
  report: () => void;
}

function removed(result: ScavengeResult): number {
  return result.eventsRemoved + result.linksRemoved;
}

/**
 * The scavenger of retention: deletes for good what the retention metadata of streams
 * (`$maxAge`, `$maxCount`, `$truncateBefore`) already hides from reads, in small batches, each
 * its own short transaction, through the hard delete's removal (`$all` cursors at removed events
 * stay valid; their tags and links go too). It never deletes a stream row nor a stream's last
 * version, so versions only grow and appends with an expected version keep working.
 *
 * Safe beside appends, metadata changes, hard deletes and other scavengers (other processes
 * included): a batch re-reads the bounds from the stream row it holds, so it deletes only what is
 * expired at that moment, and what another scavenger deleted first is simply no longer there.
 */
@Injectable()
export class EventScavenger {
  private readonly sql: ReturnType<typeof statements>;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.sql = statements(database.schema);
  }

  /** See `EventStore.scavenge`. */
  async scavenge(options: ScavengeOptions = {}): Promise<ScavengeResult> {
    const batchSize = pageSize(options.batchSize, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, 'batchSize');
    const pattern = options.streamPrefix === undefined ? null : likePrefix(options.streamPrefix, 'streamPrefix');
    const result: ScavengeResult = { streamsScanned: 0, eventsRemoved: 0, linksRemoved: 0, snapshotsRemoved: 0, interrupted: false };
    const run: Run = {
      batchSize,
      result,
      signal: options.signal,
      report: () => options.onProgress?.({ done: removed(result), total: undefined }),
    };
    let after: string | null = null;
    for (;;) {
      const streams = await this.streamsWithRetention(pattern, after);
      for (const stream of streams) {
        if (!(await this.scavengeStream(stream, run))) {
          return { ...result, interrupted: true };
        }
      }
      run.report();
      if (streams.length < STREAM_PAGE) {
        return result;
      }
      if (options.signal?.aborted === true) {
        return { ...result, interrupted: true };
      }
      after = streams.at(-1)!.streamId;
    }
  }

  /** A stream's expired events and links, batch by batch, then its snapshot; `false` when stopped. */
  private async scavengeStream(stream: RetentionStream, run: Run): Promise<boolean> {
    if (stream.expired && !(await this.removeExpired(stream.streamId, run))) {
      return false;
    }
    if (stream.snapshot) {
      run.result.snapshotsRemoved += await this.dropTruncatedSnapshot(stream.streamId);
    }
    run.result.streamsScanned++;
    return true;
  }

  private async removeExpired(streamId: string, run: Run): Promise<boolean> {
    for (;;) {
      if (run.signal?.aborted === true) {
        return false;
      }
      const batch = await this.removeBatch(streamId, run.batchSize);
      run.result.eventsRemoved += batch.events;
      run.result.linksRemoved += batch.links;
      run.report();
      // A short batch is the end of what is expired now (or of what another scavenger does not hold).
      if (batch.events < run.batchSize && batch.links < run.batchSize) {
        return true;
      }
    }
  }

  /** A page of streams with retention metadata, by id, and what each has to scavenge. */
  private async streamsWithRetention(pattern: string | null, after: string | null): Promise<RetentionStream[]> {
    const rows = await this.database.executor.query<{ stream_id: string; expired: boolean; snapshot: boolean }>(
      { name: 'es_retention_streams', text: this.sql.retentionStreams, values: [pattern, after, STREAM_PAGE] },
      { idempotent: true, readOnly: true },
    );
    return rows.map((row) => ({ streamId: row.stream_id, expired: row.expired, snapshot: row.snapshot }));
  }

  /**
   * One transaction: holds the stream row (appends and metadata changes of that stream wait for
   * it), locks the next expired events, then removes them in a statement of its own (which sees
   * every link made to them before they were locked), then the next expired links. Deleting what
   * is expired is idempotent, so a batch is retried like a read after a transient failure.
   */
  private async removeBatch(streamId: string, batchSize: number): Promise<BatchOutcome> {
    return this.database.executor.transaction(
      async (session) => {
        const { rows } = await session.query(this.sql.holdStream, [streamId]);
        if (rows.length === 0) {
          return { events: 0, links: 0 }; // hard-deleted meanwhile
        }
        const events = await this.removeExpiredEvents(session, streamId, batchSize);
        const links = await session.query(this.sql.removeExpiredLinks, [streamId, batchSize]);
        return { events, links: links.rowCount ?? 0 };
      },
      { idempotent: true, setup: ALLOW_EVENT_REMOVAL },
    );
  }

  private async removeExpiredEvents(session: DatabaseSession, streamId: string, batchSize: number): Promise<number> {
    const locked = await session.query<{ global_position: string }>(this.sql.lockExpiredEvents, [streamId, batchSize]);
    if (locked.rows.length === 0) {
      return 0;
    }
    const positions = locked.rows.map((row) => row.global_position);
    const removed = await session.query<{ removed: number }>(this.sql.removeExpiredEvents, [positions]);
    return removed.rows[0]!.removed;
  }

  private async dropTruncatedSnapshot(streamId: string): Promise<number> {
    return this.database.executor.run(async (session) => (await session.query(this.sql.dropTruncatedSnapshot, [streamId])).rowCount ?? 0, {
      idempotent: true,
    });
  }
}

function statements(schema: string) {
  return {
    retentionStreams: retentionStreamsSql(schema),
    holdStream: holdStreamSql(schema),
    lockExpiredEvents: lockExpiredEventsSql(schema),
    removeExpiredEvents: removeExpiredEventsSql(schema),
    removeExpiredLinks: removeExpiredLinksSql(schema),
    dropTruncatedSnapshot: dropTruncatedSnapshotSql(schema),
  };
}
