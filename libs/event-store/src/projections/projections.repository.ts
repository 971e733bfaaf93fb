import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { countEventsAfter } from '../storage/events-after.js';
import type { StoreTransaction } from '../transactions/store-transaction.js';
import type { AllFilter } from '../types/read-options.js';
import type { ProjectionTables } from './projection-handler.js';
import {
  abandonRebuildSql,
  acquireProjectionSql,
  advanceProjectionSql,
  advanceRebuildSql,
  beginRebuildSql,
  cursorAtOrAfterSql,
  createProjectionSql,
  failRebuildRequestSql,
  haltProjectionSql,
  listProjectionsSql,
  lockProjectionSql,
  pendingRebuildRequestsSql,
  readProjectionSql,
  recordErrorSql,
  releaseProjectionSql,
  renewProjectionSql,
  renewRebuildSql,
  requestRebuildSql,
  resumeProjectionSql,
  switchRebuildSql,
  withdrawRebuildRequestSql,
  type ProjectionRow,
} from './sql/projections.sql.js';

/** A failure as stored in a projection's row (`last_error`). */
export interface StoredProjectionError {
  message: string;
  at: string;
  attempts: number;
  eventId: string | null;
  globalPosition: number | null;
  streamId: string | null;
  streamVersion: number | null;
  eventType: string | null;
}

/** Where a batch's fence moves a projection from and to, and under whose lease. */
export interface ProjectionFence {
  name: string;
  owner: string;
  leaseMs: number;
  from: number;
  to: number;
  generation: number;
}

/** A rebuild's identity: who runs it, and its generation of tables. */
export interface RebuildClaim {
  name: string;
  owner: string;
  leaseMs: number;
  generation: number;
}

/**
 * The rows of projections: definition, checkpoint, lease, halt, last error and rebuild. Leases,
 * status and resumption run on the store's coordination pool; the fences (checkpoint writes) and
 * the rebuild's steps run in the caller's transaction, beside the read model's writes.
 */
@Injectable()
export class ProjectionsRepository {
  private readonly s: string;

  /** @internal Made by Nest's injector. */
  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** The projection's row, if any. */
  async find(name: string): Promise<ProjectionRow | undefined> {
    const [row] = await this.query<ProjectionRow>(readProjectionSql(this.s), [name]);
    return row;
  }

  /** Every projection's row, by name. */
  async list(): Promise<ProjectionRow[]> {
    return this.query<ProjectionRow>(listProjectionsSql(this.s), []);
  }

  /** Creates the row in `tx` if missing; `true` when this call created it. */
  async create(tx: StoreTransaction, name: string, filter: AllFilter, tables: ProjectionTables): Promise<boolean> {
    const { rowCount } = await tx.query(createProjectionSql(this.s), [name, JSON.stringify(filter), JSON.stringify(tables)]);
    return rowCount === 1;
  }

  /** Takes the lease (see {@link acquireProjectionSql}): where to go on from, or `undefined` while not possible. */
  async acquire(
    name: string,
    owner: string,
    leaseMs: number,
    filter: AllFilter,
    tables: ProjectionTables,
  ): Promise<{ checkpoint: number; generation: number } | undefined> {
    const [row] = await this.query<{ checkpoint: string; generation: number }>(acquireProjectionSql(this.s), [
      name,
      owner,
      leaseMs,
      JSON.stringify(filter),
      JSON.stringify(tables),
    ]);
    return row && { checkpoint: Number(row.checkpoint), generation: row.generation };
  }

  /** Renews the owner's lease; `false` once it is not the owner's. */
  async renew(name: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.query(renewProjectionSql(this.s), [name, owner, leaseMs])).length === 1;
  }

  /** The fence of a batch, in its transaction: `false` means roll back (see {@link advanceProjectionSql}). */
  async advance(tx: StoreTransaction, fence: ProjectionFence): Promise<boolean> {
    const { name, owner, leaseMs, from, to, generation } = fence;
    return (await tx.query(advanceProjectionSql(this.s), [name, owner, leaseMs, from, to, generation])).rowCount === 1;
  }

  /** Hands the lease back. */
  async release(name: string, owner: string): Promise<void> {
    await this.query(releaseProjectionSql(this.s), [name, owner]);
  }

  /** Records a failure of the owner's run. */
  async recordError(name: string, owner: string, error: StoredProjectionError): Promise<void> {
    await this.query(recordErrorSql(this.s), [name, owner, JSON.stringify(error)]);
  }

  /** Halts the projection at the failed event, if the owner still holds it at `checkpoint`. */
  async halt(name: string, owner: string, error: StoredProjectionError, checkpoint: number): Promise<boolean> {
    const values = [name, owner, JSON.stringify(error), error.eventId, error.globalPosition, checkpoint];
    return (await this.query(haltProjectionSql(this.s), values)).length === 1;
  }

  /** Lifts a halt; `false` when the projection was not halted. */
  async resume(name: string): Promise<boolean> {
    return (await this.query(resumeProjectionSql(this.s), [name])).length === 1;
  }

  /** The row, locked in `tx` until it ends. */
  async lock(tx: StoreTransaction, name: string): Promise<ProjectionRow | undefined> {
    return (await tx.query<ProjectionRow & Record<string, unknown>>(lockProjectionSql(this.s), [name])).rows[0];
  }

  /** Records a rebuild that starts (see {@link beginRebuildSql}). */
  async beginRebuild(tx: StoreTransaction, claim: RebuildClaim, tables: ProjectionTables, filter: AllFilter, total: number): Promise<void> {
    const { name, owner, leaseMs, generation } = claim;
    await tx.query(beginRebuildSql(this.s), [name, owner, leaseMs, generation, JSON.stringify(tables), JSON.stringify(filter), total]);
  }

  /** The fence of a rebuild's batch: `false` means the rebuild lost its claim. */
  async advanceRebuild(tx: StoreTransaction, claim: RebuildClaim, from: number, to: number, count: number): Promise<boolean> {
    const { name, owner, leaseMs, generation } = claim;
    return (await tx.query(advanceRebuildSql(this.s), [name, owner, leaseMs, generation, from, to, count])).rowCount === 1;
  }

  /** Renews a rebuild's lease; `false` once the rebuild is not the owner's. */
  async renewRebuild(claim: RebuildClaim): Promise<boolean> {
    const { name, owner, leaseMs, generation } = claim;
    return (await this.query(renewRebuildSql(this.s), [name, owner, leaseMs, generation])).length === 1;
  }

  /** Switches to the rebuilt read model (see {@link switchRebuildSql}). */
  async switchRebuild(
    tx: StoreTransaction,
    name: string,
    generation: number,
    tables: ProjectionTables,
    filter: AllFilter,
    checkpoint: number,
  ): Promise<void> {
    await tx.query(switchRebuildSql(this.s), [name, generation, JSON.stringify(tables), JSON.stringify(filter), checkpoint]);
  }

  /** Forgets a rebuild that gave up. */
  async abandonRebuild(tx: StoreTransaction, claim: RebuildClaim): Promise<void> {
    await tx.query(abandonRebuildSql(this.s), [claim.name, claim.owner, claim.generation]);
  }

  /** Records a rebuild request (see {@link requestRebuildSql}): the row as it is then, or `undefined` without one. */
  async requestRebuild(name: string): Promise<ProjectionRow | undefined> {
    const [row] = await this.query<ProjectionRow>(requestRebuildSql(this.s), [name]);
    return row;
  }

  /** Withdraws the request made at `requestedAt`; `false` if a rebuild took it up or a later request replaced it. */
  async withdrawRebuildRequest(name: string, requestedAt: Date): Promise<boolean> {
    return (await this.query(withdrawRebuildRequestSql(this.s), [name, requestedAt])).length === 1;
  }

  /** Pending requests of `names` that the process `owner` should take up (see {@link pendingRebuildRequestsSql}). */
  async pendingRebuildRequests(names: readonly string[], owner: string): Promise<Array<{ name: string; requestedAt: Date }>> {
    if (names.length === 0) return [];
    const rows = await this.query<{ name: string; rebuild_requested_at: Date }>(pendingRebuildRequestsSql(this.s), [names, owner]);
    return rows.map((row) => ({ name: row.name, requestedAt: row.rebuild_requested_at }));
  }

  /** Clears the requests up to `requestedAt` that a rebuild which gave up took up, recording why. */
  async failRebuildRequest(name: string, requestedAt: Date, message: string): Promise<void> {
    await this.query(failRebuildRequestSql(this.s), [name, requestedAt, message]);
  }

  /** Events of `filter` after `cursor` that `$all` shows now, counted up to `cap`. */
  countAfter(cursor: number, filter: AllFilter, cap: number): Promise<number> {
    return countEventsAfter(this.database, cursor, filter, cap);
  }

  /** Whether cursor `a` is at or after cursor `b` in `$all` order. */
  async atOrAfter(a: number, b: number): Promise<boolean> {
    const rows = await this.database.executor.query<{ reached: boolean | null }>(
      { text: cursorAtOrAfterSql(this.s), values: [a, b] },
      { idempotent: true, readOnly: true },
    );
    return rows[0]?.reached === true;
  }

  private query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return this.database.coordination.query<R & Record<string, unknown>>({ text, values }, { idempotent: true });
  }
}
