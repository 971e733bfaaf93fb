import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStoreTimeoutError } from '../errors/event-store-timeout.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { describe } from './projection-signals.js';
import type { RebuildRequestOptions, RebuildRequestProgress, RebuildRequestResult } from './projection-status.js';
import type { ProjectionsRepository } from './projections.repository.js';
import type { ProjectionRow } from './sql/projections.sql.js';

const DEFAULT_POLL_MS = 500;

/**
 * Waits, from any process, for a requested rebuild (see {@link ProjectionRebuildRequests}) by
 * reading the projection's row: done once its generation is higher than when requested (a switch
 * after the request, whoever started that rebuild, answers it), failed once the request was
 * cleared with an error. The waiting stops at `signal`; the rebuild does not.
 */
export class ProjectionRebuildWaiter {
  private readonly logger: Logger;
  private readonly generation: number;
  private requestedAt: Date;
  /** Since when no rebuild has been under way (for `startTimeoutMs`); `undefined` while one is. */
  private waitingSince: number | undefined = Date.now();
  private last: RebuildRequestProgress;

  constructor(
    private readonly repository: ProjectionsRepository,
    /** The row as the request left it. */
    requested: ProjectionRow,
    private readonly options: RebuildRequestOptions,
  ) {
    this.logger = new Logger(`ProjectionRebuildWaiter(${requested.name})`);
    this.generation = requested.generation;
    this.requestedAt = requested.rebuild_requested_at!;
    this.last = { name: requested.name, phase: 'requested', owner: null, generation: this.generation, processed: 0, total: 0, position: 0 };
  }

  /** Waits until switched, failed, timed out or stopped by the signal. */
  async run(): Promise<RebuildRequestResult> {
    const { signal } = this.options;
    for (let row = await this.read(); ; row = await this.read()) {
      if (row.generation > this.generation) {
        this.report({ ...this.last, phase: 'switched', owner: null, generation: row.generation });
        return this.result(row, false);
      }
      if (row.rebuild_active) this.replaying(row);
      else if (row.rebuild_requested_at === null) await this.answeredWithout(row);
      else await this.requested(row);
      if (signal?.aborted) return this.result(await this.read(), true);
      await sleep(this.options.pollIntervalMs ?? DEFAULT_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private replaying(row: ProjectionRow): void {
    this.waitingSince = undefined;
    this.report({
      name: row.name,
      phase: 'replaying',
      owner: row.rebuild_owner,
      generation: row.rebuild_generation ?? this.generation + 1,
      processed: Number(row.rebuild_processed ?? 0),
      total: Number(row.rebuild_total ?? 0),
      position: Number(row.rebuild_checkpoint ?? 0),
    });
  }

  /** No rebuild under way: reports who will take the request up, and withdraws it past the timeout. */
  private async requested(row: ProjectionRow): Promise<void> {
    this.waitingSince ??= Date.now();
    this.report({ ...this.last, phase: 'requested', owner: row.lease_valid ? row.owner : null, generation: row.generation });
    const { startTimeoutMs } = this.options;
    if (startTimeoutMs === undefined || Date.now() - this.waitingSince < startTimeoutMs) return;
    const withdrawn = await this.repository.withdrawRebuildRequest(row.name, this.requestedAt);
    const now = await this.read();
    if (now.generation > this.generation || now.rebuild_active) return; // taken up at the last moment
    throw new EventStoreTimeoutError(
      `No process running projection '${row.name}' took up the rebuild request within ${startTimeoutMs} ms: ${
        withdrawn ? 'the request was withdrawn' : 'a later request is still pending'
      }. Start the application that runs it, then request the rebuild again`,
      { name: row.name },
    );
  }

  /** The request is gone without a switch: a rebuild gave up (its error), or another waiter's timeout withdrew it. */
  private async answeredWithout(row: ProjectionRow): Promise<void> {
    const error = row.rebuild_error as { message?: unknown } | null;
    if (error !== null) {
      throw new Error(`The rebuild of projection '${row.name}' gave up: ${String(error.message)}. The live read model is unchanged`);
    }
    // This waiter still wants it: it asks again (the generation to pass stays the one it began with).
    const again = await this.repository.requestRebuild(row.name);
    if (again === undefined) throw gone(row.name);
    this.requestedAt = again.rebuild_requested_at!;
  }

  private async read(): Promise<ProjectionRow> {
    const row = await this.repository.find(this.last.name);
    if (row === undefined) throw gone(this.last.name);
    return row;
  }

  private report(progress: RebuildRequestProgress): void {
    this.last = progress;
    try {
      this.options.onProgress?.(progress);
    } catch (error) {
      this.logger.warn(`onProgress threw (${describe(error)}); going on`);
    }
  }

  /** Where the request stands by `row`. */
  result(row: ProjectionRow, interrupted = false): RebuildRequestResult {
    const state = row.generation > this.generation ? 'switched' : row.rebuild_active ? 'rebuilding' : 'requested';
    return {
      name: row.name,
      requestedAt: this.requestedAt,
      state,
      owner: state === 'rebuilding' ? row.rebuild_owner : state === 'requested' && row.lease_valid ? row.owner : null,
      generation: row.generation,
      checkpoint: Number(row.checkpoint),
      interrupted,
    };
  }
}

function gone(name: string): InvalidArgumentError {
  return new InvalidArgumentError(`Projection '${name}' was deleted while its rebuild was awaited`, { name });
}
