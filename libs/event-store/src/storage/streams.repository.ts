import { Inject, Injectable } from '@nestjs/common';
import { StreamDeletedError } from '../errors/stream-deleted.error.js';
import { StreamNotFoundError } from '../errors/stream-not-found.error.js';
import { WrongExpectedVersionError } from '../errors/wrong-expected-version.error.js';
import type { JsonObject } from '../types/event-data.js';
import type { ListStreamsResult, StreamInfo } from '../types/stream-info.js';
import type { DatabaseSession } from './database-executor.js';
import { EventStoreDatabase } from './event-store-database.js';
import {
  ALLOW_EVENT_REMOVAL,
  deleteStreamRowSql,
  hardDeleteEventsSql,
  listStreamsSql,
  lockStreamEventsSql,
  lockStreamSql,
  setStreamMetadataSql,
  softDeleteStreamSql,
  streamInfoSql,
  type StreamRow,
} from './sql/streams.sql.js';

/** The expected version of a write, as code (`expectedVersionCode`) and as the caller wrote it. */
export interface ExpectedVersionCheck {
  code: number;
  label: string | number;
}

/** Stream rows: info, listing, deletion and metadata. */
@Injectable()
export class StreamsRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** The stream's row, or `undefined` when there is none. */
  async find(streamId: string): Promise<StreamInfo | undefined> {
    const [row] = await this.database.executor.query<StreamRow>(
      { name: 'es_stream_info', text: streamInfoSql(this.s), values: [streamId] },
      { idempotent: true, readOnly: true },
    );
    return row && Number(row.version) > 0 ? toStreamInfo(row) : undefined;
  }

  /** A page of streams by id. */
  async list(pattern: string | null, after: string | null, limit: number): Promise<ListStreamsResult> {
    const rows = await this.database.executor.query<StreamRow>(
      { name: 'es_list_streams', text: listStreamsSql(this.s), values: [pattern, after, limit] },
      { idempotent: true, readOnly: true },
    );
    const streams = rows.map(toStreamInfo);
    return { streams, nextAfter: streams.length === limit ? streams.at(-1)!.streamId : null };
  }

  /** Soft delete: the row is marked; events stay. */
  async softDelete(streamId: string, expected: ExpectedVersionCheck): Promise<void> {
    await this.underLock(streamId, expected, { allowDeleted: false }, (client) => client.query(softDeleteStreamSql(this.s), [streamId]));
  }

  /** Hard delete: the row and the events go; their places in $all are kept for cursors. */
  async hardDelete(streamId: string, expected: ExpectedVersionCheck): Promise<void> {
    await this.underLock(streamId, expected, { allowDeleted: true }, async (client) => {
      await client.query(ALLOW_EVENT_REMOVAL);
      await client.query(lockStreamEventsSql(this.s), [streamId]);
      await client.query(hardDeleteEventsSql(this.s), [streamId]);
      await client.query(deleteStreamRowSql(this.s), [streamId]);
    });
  }

  /** Replaces the stream's metadata. */
  async setMetadata(streamId: string, metadata: JsonObject, expected: ExpectedVersionCheck): Promise<void> {
    await this.underLock(streamId, expected, { allowDeleted: false }, (client) =>
      client.query(setStreamMetadataSql(this.s), [streamId, JSON.stringify(metadata)]),
    );
  }

  /** Locks the stream row, checks it against the expected version, then runs `change`. */
  private async underLock(
    streamId: string,
    expected: ExpectedVersionCheck,
    rules: { allowDeleted: boolean },
    change: (session: DatabaseSession) => Promise<unknown>,
  ): Promise<void> {
    await this.database.executor.transaction(
      async (session) => {
        const { rows } = await session.query<StreamRow>(lockStreamSql(this.s), [streamId]);
        checkExpected(streamId, rows[0], expected, rules.allowDeleted);
        await change(session);
      },
      { idempotent: false },
    );
  }
}

function checkExpected(streamId: string, row: StreamRow | undefined, expected: ExpectedVersionCheck, allowDeleted: boolean): void {
  const version = row === undefined ? 0 : Number(row.version);
  if (version === 0) {
    throw new StreamNotFoundError(streamId);
  }
  if (row!.deleted && !allowDeleted) {
    throw new StreamDeletedError(streamId);
  }
  if (expected.code === 0 || (expected.code > 0 && expected.code !== version)) {
    throw new WrongExpectedVersionError(streamId, expected.label, version);
  }
}

function toStreamInfo(row: StreamRow): StreamInfo {
  return {
    streamId: row.stream_id,
    version: Number(row.version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deleted: row.deleted,
    metadata: JSON.parse(row.metadata) as JsonObject,
  };
}
