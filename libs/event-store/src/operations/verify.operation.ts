import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { optionalInteger, pageSize } from '../validation/paging.validation.js';
import type { VerifyOptions, VerifyResult } from './verify-options.js';
import { verifyBatchSql, verifyTotalSql, type VerifyBatchRow } from './verify.sql.js';

/** Default events per batch: a few milliseconds of work, so that a stop is prompt. */
const DEFAULT_BATCH_SIZE = 1_000;
const MAX_BATCH_SIZE = 100_000;

/**
 * `verify`: every stored event's checksum, recomputed in SQL from its row and compared with the
 * stored one, batch by batch in position order (keyset, so a batch costs the same at any depth of
 * the store). Each batch is one short read on its own, retried like any read, so a verify of a
 * large store holds no snapshot and no lock and runs beside the store's normal work; events
 * appended meanwhile are checked too when they lie past the batches so far.
 */
@Injectable()
export class VerifyOperation {
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {}

  async run(options: VerifyOptions = {}): Promise<VerifyResult> {
    const batchSize = pageSize(options.batchSize, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, 'batchSize');
    let after = optionalInteger(options.fromPosition, 'fromPosition', 0) ?? 0;
    const total = await this.total(after);
    const result: VerifyResult = { checked: 0, corrupted: [], lastPosition: null, interrupted: false };
    options.onProgress?.({ done: 0, total });
    for (;;) {
      if (options.signal?.aborted) return { ...result, interrupted: true };
      const batch = await this.batch(after, batchSize);
      if (batch.checked === 0) return result;
      result.checked += batch.checked;
      result.corrupted.push(...batch.corrupted);
      result.lastPosition = after = Number(batch.last_position);
      options.onProgress?.({ done: result.checked, total });
      if (batch.checked < batchSize) return result;
    }
  }

  private async total(after: number): Promise<number> {
    const [row] = await this.database.executor.query<{ total: string }>(
      { text: verifyTotalSql(this.database.schema), values: [after] },
      { idempotent: true, readOnly: true },
    );
    return Number(row!.total);
  }

  private async batch(after: number, batchSize: number): Promise<VerifyBatchRow> {
    const [row] = await this.database.executor.query<VerifyBatchRow>(
      { name: 'es_verify_batch', text: verifyBatchSql(this.database.schema), values: [after, batchSize] },
      { idempotent: true, readOnly: true },
    );
    return row!;
  }
}
