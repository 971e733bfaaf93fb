import { Logger } from '@nestjs/common';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { StoreTransaction } from '../transactions/store-transaction.js';
import type { ReadAllResult } from '../types/read-options.js';
import { isOutage, ProjectionBatches, type BatchTarget } from './projection-batches.js';
import type { ProjectionDefinition } from './projection-definition.js';
import type { ProjectionTables } from './projection-handler.js';
import { PROJECTION_LEASE_MS, storedError, type ProjectionParts } from './projection-runner.js';
import { describe, ProjectionEventFailed, ProjectionLeaseLost } from './projection-signals.js';
import type { RebuildOptions, RebuildProgress, RebuildResult } from './projection-status.js';
import { generationTables, sameTables, splitTableName } from './projection-tables.js';
import type { RebuildClaim } from './projections.repository.js';
import { tableIndexesSql } from './sql/projections.sql.js';

/** Events counted at most (the `total` of a rebuild, a status's lag). */
export const COUNT_CAP = 1_000_000;
/** How often the rebuild renews its lease (each batch's fence renews it too). */
const RENEW_EVERY_MS = 1_000;
/** How long the switch waits for the old tables (readers, the live batch) before trying again later. */
const SWITCH_LOCK_TIMEOUT = '5s';
/** Switch attempts before the rebuild gives up (each after replaying what came meanwhile). */
const SWITCH_ATTEMPTS = 5;
/** Pages the switch catches up while it holds the old tables, once at the live model's checkpoint. */
const SWITCH_PAGES = 3;

/**
 * Rebuilds a projection beside its live read model: records a new generation and creates its
 * tables (`<table>__r<generation>`) in one transaction, replays `$all` from the origin into them
 * batch by batch (each batch fenced by the rebuild's own checkpoint and lease), then switches in
 * one transaction: locks the old tables (readers wait from here), catches up the last events,
 * drops the old tables, renames the new ones (and their indexes) to the real names, and sets the
 * projection's checkpoint and generation. Readers of the real names see the old model until that
 * commits, then the new one; never a half-built one. A rebuild that fails drops its tables; one
 * whose process died leaves them recorded, and the next rebuild drops them before starting over.
 */
export class ProjectionRebuild {
  private readonly logger: Logger;
  private readonly batches: ProjectionBatches;
  private held = false;
  private heldUntil = 0;
  private renewTimer?: NodeJS.Timeout;
  private processed = 0;
  private total = 0;
  /** When the last fence of a batch was sent (it renews the lease once committed). */
  private fenceSentAt = 0;

  constructor(
    private readonly definition: ProjectionDefinition,
    private readonly parts: ProjectionParts,
    /** Who runs this rebuild (unique per rebuild). */
    private readonly owner: string,
    private readonly options: RebuildOptions,
    private readonly signal: AbortSignal,
  ) {
    this.logger = new Logger(`ProjectionRebuild(${definition.name})`);
    this.batches = new ProjectionBatches(definition, parts.transactions, signal, this.logger);
  }

  /** Runs the rebuild to its switch. */
  async run(): Promise<RebuildResult> {
    this.total = await this.parts.repository.countAfter(0, this.definition.filter, COUNT_CAP);
    const { claim, tables } = await this.begin();
    this.logger.log(
      `Rebuilding into generation ${claim.generation} (${Object.values(tables).join(', ')}): ${this.total} event(s) to replay`,
    );
    try {
      const checkpoint = await this.replayAndSwitch(claim, tables);
      this.report(claim, 'switched', checkpoint);
      this.logger.log(`Switched to generation ${claim.generation} at checkpoint ${checkpoint} after ${this.processed} event(s)`);
      return { name: this.definition.name, generation: claim.generation, processed: this.processed, checkpoint };
    } catch (error) {
      this.logger.error(`Gave up (${describe(error)}); dropping its tables. The live read model is unchanged`);
      await this.abandon(claim, tables);
      throw error instanceof ProjectionEventFailed
        ? new Error(`Rebuild of projection '${this.definition.name}' stopped: ${error.message}`, { cause: error.failure })
        : error;
    } finally {
      this.stopHolding();
    }
  }

  /** Records the generation and creates its tables, dropping those of a rebuild that died. */
  private async begin(): Promise<{ claim: RebuildClaim; tables: ProjectionTables }> {
    const { repository, transactions } = this.parts;
    const { name, filter, handler } = this.definition;
    const sentAt = performance.now();
    const begun = await transactions.run(async (tx) => {
      const row = await repository.lock(tx, name);
      if (row === undefined) throw new InvalidArgumentError(`Projection '${name}' does not exist`, { name });
      if (row.rebuild_active) {
        throw new InvalidArgumentError(
          `Projection '${name}' is being rebuilt by ${row.rebuild_owner} (generation ${row.rebuild_generation}): wait for that rebuild, or, if its process died, try again once its lease has lapsed (${PROJECTION_LEASE_MS} ms)`,
          { name },
        );
      }
      if (row.rebuild_tables !== null) {
        await dropTables(tx, Object.values(row.rebuild_tables));
        this.logger.warn(`Dropped the half-built tables of generation ${row.rebuild_generation}, left by a rebuild that did not finish`);
      }
      const generation = Math.max(row.generation, row.rebuild_generation ?? 0) + 1;
      const claim: RebuildClaim = { name, owner: this.owner, leaseMs: PROJECTION_LEASE_MS, generation };
      const tables = generationTables(this.definition.tables, generation);
      await repository.beginRebuild(tx, claim, tables, filter, this.total);
      await handler.createTables(tx, tables);
      return { claim, tables };
    });
    this.hold(sentAt, begun.claim);
    return begun;
  }

  /**
   * Replays until the rest is less than a batch, then switches; a switch that cannot take the old
   * tables in time, or whose catch-up fails, is rolled back and tried again after replaying more.
   */
  private async replayAndSwitch(claim: RebuildClaim, tables: ProjectionTables): Promise<number> {
    let cursor = 0;
    for (let attempt = 1; ; attempt++) {
      cursor = await this.replay(claim, tables, cursor);
      try {
        return await this.switchOver(claim, tables, cursor);
      } catch (error) {
        if (error instanceof ProjectionLeaseLost || this.signal.aborted || attempt >= SWITCH_ATTEMPTS) throw error;
        if (isOutage(error)) await this.batches.waitOut(error, attempt);
        else this.logger.warn(`The switch failed (${describe(error)}); replaying what came meanwhile and trying again`);
      }
    }
  }

  /** Replays from `cursor` until less than a batch is left; returns where it stopped. */
  private async replay(claim: RebuildClaim, tables: ProjectionTables, from: number): Promise<number> {
    const { batchSize } = this.definition;
    const target = this.target(claim, tables);
    let cursor = from;
    for (;;) {
      this.assertHeld();
      const page = await this.read(cursor);
      const next = page.nextFromPosition ?? cursor;
      if (page.events.length === 0 && next === cursor) return cursor;
      cursor = await this.batches.apply(target, cursor, page.events, next);
      this.renewed(this.fenceSentAt);
      this.processed += page.events.length;
      this.report(claim, 'replaying', cursor);
      if (await this.closeToTheEnd(cursor, page.events.length < batchSize)) return cursor;
    }
  }

  /**
   * Whether to switch now: less than a batch is left, or the replay has reached the live model's
   * checkpoint (when events come faster than a batch's worth between two reads, the rest would
   * never be less than a batch: from there on the new model is not behind the old one, and the
   * live runner catches up the rest after the switch).
   */
  private async closeToTheEnd(cursor: number, partialPage: boolean): Promise<boolean> {
    const { repository } = this.parts;
    const { name, filter, batchSize } = this.definition;
    if (partialPage && (await repository.countAfter(cursor, filter, batchSize)) < batchSize) return true;
    const live = await repository.find(name);
    return live !== undefined && (await repository.atOrAfter(cursor, Number(live.checkpoint)));
  }

  private target(claim: RebuildClaim, tables: ProjectionTables): BatchTarget {
    return {
      tables,
      fence: (tx, from, to, count) => {
        this.fenceSentAt = performance.now();
        return this.parts.repository.advanceRebuild(tx, claim, from, to, count);
      },
      assertHeld: () => this.assertHeld(),
      failed: async (event, error, attempts) => {
        const stored = storedError(event, error, attempts);
        this.logger.warn(`The handler failed on event ${stored.eventId} (attempt ${attempts}): ${stored.message}`);
      },
    };
  }

  /** The switch, in one transaction (see the class). Returns the projection's new checkpoint. */
  private async switchOver(claim: RebuildClaim, tables: ProjectionTables, from: number): Promise<number> {
    const { repository, transactions } = this.parts;
    const { name, filter } = this.definition;
    const current = await repository.find(name);
    if (current === undefined) throw new ProjectionLeaseLost(`Projection ${name} was deleted`);
    const old = Object.values(current.tables);
    return transactions.run(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${SWITCH_LOCK_TIMEOUT}'`);
      // The old tables first, as a live batch takes them (its writes) before the row (its fence):
      // taking the row first would deadlock with a batch in flight.
      await tx.query(`LOCK TABLE ${old.join(', ')} IN ACCESS EXCLUSIVE MODE`);
      const row = await repository.lock(tx, name);
      if (row?.rebuild_owner !== claim.owner || row.rebuild_generation !== claim.generation) {
        throw new ProjectionLeaseLost(`The rebuild of ${name} lost its claim (generation ${claim.generation})`);
      }
      if (!sameTables(row.tables, current.tables)) throw new Error('the live tables changed while switching');
      const checkpoint = await this.catchUp(tx, tables, from, Number(row.checkpoint));
      await tx.query(`DROP TABLE ${old.join(', ')}`);
      for (const [logical, real] of Object.entries(this.definition.tables)) {
        await renameInto(tx, tables[logical]!, real, claim.generation);
      }
      await repository.switchRebuild(tx, name, claim.generation, this.definition.tables, filter, checkpoint);
      return checkpoint;
    });
  }

  /**
   * Applies, in the switch's transaction, what came after the replay: at least up to the live
   * model's checkpoint (`live`: readers never see the model go back), then until nothing is left or
   * a few pages were applied (readers of the old tables wait meanwhile).
   */
  private async catchUp(tx: StoreTransaction, tables: ProjectionTables, from: number, live: number): Promise<number> {
    const { repository } = this.parts;
    let cursor = from;
    for (let pages = 0; ; pages++) {
      if (pages >= SWITCH_PAGES && (await repository.atOrAfter(cursor, live))) break;
      const page = await this.read(cursor);
      const next = page.nextFromPosition ?? cursor;
      if (page.events.length === 0 && next === cursor) break;
      for (const event of page.events) {
        await this.definition.handler.handle(event, tx, tables);
      }
      this.processed += page.events.length;
      cursor = next;
    }
    return cursor;
  }

  /** Drops the generation's tables and forgets the rebuild, if it is still this one's (best effort). */
  private async abandon(claim: RebuildClaim, tables: ProjectionTables): Promise<void> {
    const { repository, transactions } = this.parts;
    await transactions
      .run(async (tx) => {
        const row = await repository.lock(tx, claim.name);
        if (row?.rebuild_owner !== claim.owner || row.rebuild_generation !== claim.generation) return;
        await dropTables(tx, Object.values(tables));
        await repository.abandonRebuild(tx, claim);
      })
      .catch((error: unknown) => this.logger.warn(`Could not drop its tables (${describe(error)}); the next rebuild drops them`));
  }

  private async read(cursor: number): Promise<ReadAllResult> {
    const { batchSize, filter } = this.definition;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.parts.reads.readAll('forward', { fromPosition: cursor, maxCount: batchSize, filter });
      } catch (error) {
        if (this.signal.aborted || !(isOutage(error) || (error as { code?: string }).code === 'TIMEOUT')) throw error;
        await this.batches.waitOut(error, attempt);
      }
    }
  }

  private report(claim: RebuildClaim, phase: RebuildProgress['phase'], position: number): void {
    const progress: RebuildProgress = {
      name: claim.name,
      generation: claim.generation,
      phase,
      processed: this.processed,
      total: this.total,
      position,
    };
    try {
      this.options.onProgress?.(progress);
    } catch (error) {
      this.logger.warn(`onProgress threw (${describe(error)}); going on`);
    }
  }

  private hold(sentAt: number, claim: RebuildClaim): void {
    this.held = true;
    this.heldUntil = sentAt + PROJECTION_LEASE_MS - PROJECTION_LEASE_MS / 10;
    const renew = async (): Promise<void> => {
      const sent = performance.now();
      const renewed = await this.parts.repository.renewRebuild(claim).catch(() => undefined);
      if (!this.held) return;
      if (renewed === false) return this.stopHolding();
      if (renewed === true) this.renewed(sent);
      this.renewTimer = setTimeout(() => void renew(), RENEW_EVERY_MS).unref();
    };
    this.renewTimer = setTimeout(() => void renew(), RENEW_EVERY_MS).unref();
  }

  private renewed(sentAt: number): void {
    if (this.held) this.heldUntil = Math.max(this.heldUntil, sentAt + PROJECTION_LEASE_MS - PROJECTION_LEASE_MS / 10);
  }

  private stopHolding(): void {
    this.held = false;
    clearTimeout(this.renewTimer);
  }

  private assertHeld(): void {
    if (!this.held || performance.now() > this.heldUntil) {
      throw new ProjectionLeaseLost(`The rebuild of ${this.definition.name} lost its lease`);
    }
  }
}

async function dropTables(tx: StoreTransaction, tables: string[]): Promise<void> {
  if (tables.length > 0) await tx.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
}

/**
 * Renames a generation's table to its real name, and its indexes (primary keys and unique
 * constraints with them) from `<table>__r<n>...` to `<table>...`, so that their names stay the
 * same from one generation to the next.
 */
async function renameInto(tx: StoreTransaction, built: string, real: string, generation: number): Promise<void> {
  const { schema, table } = splitTableName(real);
  await tx.query(`ALTER TABLE ${built} RENAME TO ${table}`);
  const marker = `${table}__r${generation}`;
  const { rows } = await tx.query<{ name: string }>(tableIndexesSql, [real]);
  for (const { name } of rows) {
    if (!name.startsWith(marker)) continue;
    const renamed = `${table}${name.slice(marker.length)}`;
    await tx.query(`ALTER INDEX ${schema === undefined ? '' : `${schema}.`}"${name}" RENAME TO "${renamed}"`);
  }
}
