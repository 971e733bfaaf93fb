import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from './event-store-database.js';
import { countEventsAfter } from './events-after.js';
import {
  acquireLeaseSql,
  acquireLeasesSql,
  candidatesOfSql,
  createSubscriptionSql,
  deleteSubscriptionSql,
  heartbeatMemberSql,
  heartbeatMembersSql,
  leaveGroupSql,
  liveMembersSql,
  readSubscriptionSql,
  releaseLeaseSql,
  renewLeaseSql,
  renewLeasesSql,
  type SubscriptionRow,
} from './sql/subscriptions.sql.js';
import { subscriptionStatusesSql, type SubscriptionStatusRow } from './sql/subscription-status.sql.js';
import type { AllFilter } from '../types/read-options.js';

/** What a persistent subscription reads: `$all` (stream `null`) or one stream, and its filter. */
export interface SubscriptionDefinition {
  streamId: string | null;
  filter: AllFilter;
}

/** A live process that wants a subscription, and how many leases it holds. */
export interface LeaseCandidate {
  member: string;
  leases: number;
}

/**
 * The rows of persistent subscriptions: definition, checkpoint and lease. Its statements run on the
 * store's coordination pool, apart from appends and reads.
 */
@Injectable()
export class SubscriptionsRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** The subscription's row, creating it at `checkpoint` if it does not exist. */
  async ensure(name: string, definition: SubscriptionDefinition, checkpoint: () => Promise<number>): Promise<SubscriptionRow> {
    const existing = await this.find(name);
    if (existing !== undefined) {
      return existing;
    }
    await this.query(createSubscriptionSql(this.s), [name, definition.streamId, JSON.stringify(definition.filter), await checkpoint()]);
    return (await this.find(name))!;
  }

  /** The subscription's row, if any. */
  async find(name: string): Promise<SubscriptionRow | undefined> {
    const [row] = await this.query<SubscriptionRow>(readSubscriptionSql(this.s), [name]);
    return row;
  }

  /** Takes the lease for `owner`: the checkpoint; `held` while another holds it; `gone` once deleted. */
  async acquire(name: string, owner: string, leaseMs: number): Promise<number | 'held' | 'gone'> {
    return (await this.take(name, owner, leaseMs)).outcome;
  }

  /**
   * {@link acquire}, and whether the row named `owner` already (`wasMine`): nobody else delivered
   * the subscription since this owner last did.
   */
  async take(name: string, owner: string, leaseMs: number): Promise<{ outcome: number | 'held' | 'gone'; wasMine: boolean }> {
    const [row] = await this.query<{ checkpoint: string | null; was_mine: boolean; present: boolean }>(acquireLeaseSql(this.s), [
      name,
      owner,
      leaseMs,
    ]);
    if (row!.checkpoint !== null) return { outcome: Number(row!.checkpoint), wasMine: row!.was_mine };
    return { outcome: row!.present ? 'held' : 'gone', wasMine: false };
  }

  /** Renews the lease (and writes the checkpoint, if given); `false` when the lease was lost. */
  async renew(name: string, owner: string, leaseMs: number, checkpoint: number | null): Promise<boolean> {
    const rows = await this.query(renewLeaseSql(this.s), [name, owner, leaseMs, checkpoint]);
    return rows.length > 0;
  }

  /**
   * Renews many leases in one statement (`held`: name and owner pairs): the pairs renewed, and
   * those lost (no longer the owner's), as `name owner` keys (see {@link leaseKey}). A pair in
   * neither was skipped (its row locked by another transaction): unknown.
   */
  async renewAll(
    held: ReadonlyArray<{ name: string; owner: string }>,
    leaseMs: number,
    deadline: number,
  ): Promise<{ renewed: Set<string>; lost: Set<string> }> {
    const outcome = { renewed: new Set<string>(), lost: new Set<string>() };
    if (held.length === 0) return outcome;
    const rows = await this.batch<{ name: string; owner: string; renewed: boolean; owned: boolean }>(
      renewLeasesSql(this.s),
      [held.map((lease) => lease.name), held.map((lease) => lease.owner), leaseMs],
      deadline,
    );
    for (const row of rows) {
      if (row.renewed) outcome.renewed.add(leaseKey(row.name, row.owner));
      else if (!row.owned) outcome.lost.add(leaseKey(row.name, row.owner));
    }
    return outcome;
  }

  /**
   * Takes the leases of `names` for `owner` where free (one statement): per name, its checkpoint
   * when taken (and whether it was the owner's already, as {@link take} says), `held` while another
   * holds it, `gone` once deleted.
   */
  async acquireAll(
    names: readonly string[],
    owner: string,
    leaseMs: number,
    deadline: number,
  ): Promise<Map<string, { outcome: number | 'held' | 'gone'; wasMine: boolean }>> {
    const outcomes = new Map<string, { outcome: number | 'held' | 'gone'; wasMine: boolean }>(
      names.map((name) => [name, { outcome: 'gone', wasMine: false }]),
    );
    if (names.length === 0) return outcomes;
    const rows = await this.batch<{ name: string; checkpoint: string | null; was_mine: boolean }>(
      acquireLeasesSql(this.s),
      [names, owner, leaseMs],
      deadline,
    );
    for (const row of rows) {
      outcomes.set(
        row.name,
        row.checkpoint === null ? { outcome: 'held', wasMine: false } : { outcome: Number(row.checkpoint), wasMine: row.was_mine },
      );
    }
    return outcomes;
  }

  /** Which of `names` have a row (one statement). */
  async existing(names: readonly string[], deadline: number): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.batch<{ name: string }>(
      `SELECT name FROM ${this.s}.subscriptions WHERE name = ANY($1::text[])`,
      [names],
      deadline,
    );
    return new Set(rows.map((row) => row.name));
  }

  /** Records that `member` wants each of `names` now (one statement). */
  async heartbeatAll(names: readonly string[], member: string, deadline: number): Promise<void> {
    if (names.length > 0) await this.batch(heartbeatMembersSql(this.s), [names, member], deadline);
  }

  /** {@link candidates} of many subscriptions at once: per name, fewest leases first. */
  async candidatesOf(names: readonly string[], aliveMs: number, deadline: number): Promise<Map<string, LeaseCandidate[]>> {
    const byName = new Map<string, LeaseCandidate[]>(names.map((name) => [name, []]));
    if (names.length === 0) return byName;
    const rows = await this.batch<LeaseCandidate & { subscription: string }>(candidatesOfSql(this.s), [names, aliveMs], deadline);
    for (const { subscription, member, leases } of rows) byName.get(subscription)?.push({ member, leases });
    return byName;
  }

  /** Hands the lease back, writing the checkpoint. */
  async release(name: string, owner: string, checkpoint: number | null): Promise<void> {
    await this.query(releaseLeaseSql(this.s), [name, owner, checkpoint]);
  }

  /** Removes the subscription; `false` if there was none. */
  async delete(name: string): Promise<boolean> {
    const rows = await this.database.coordination.run(
      async (session) => (await session.query(deleteSubscriptionSql(this.s), [name])).rowCount ?? 0,
      { idempotent: true },
    );
    return rows > 0;
  }

  /** The subscriptions with their failures counted (see {@link subscriptionStatusesSql}): all, or `name` and its group's partitions. */
  async statuses(name: string | null): Promise<SubscriptionStatusRow[]> {
    return this.query<SubscriptionStatusRow>(subscriptionStatusesSql(this.s), [name]);
  }

  /** Events of `filter` after the `$all` cursor `cursor` that readers see now, counted up to `cap`. */
  countAfter(cursor: number, filter: AllFilter, cap: number): Promise<number> {
    return countEventsAfter(this.database, cursor, filter, cap);
  }

  /** Records that `member` of group `name` is alive; returns how many members are. */
  async heartbeat(name: string, member: string, aliveMs: number): Promise<number> {
    await this.query(heartbeatMemberSql(this.s), [name, member]);
    const [row] = await this.query<{ members: number }>(liveMembersSql(this.s), [name, aliveMs]);
    return Math.max(1, row?.members ?? 1);
  }

  /** Removes `member` from group `name`. */
  async leave(name: string, member: string): Promise<void> {
    await this.query(leaveGroupSql(this.s), [name, member]);
  }

  /** One statement on the coordination pool, within the store's operation deadline. */
  private query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return this.database.coordination.query<R & Record<string, unknown>>({ text, values }, { idempotent: true });
  }

  /**
   * One of the lease keeper's batched statements, on the lease connections, within `deadline` (a
   * `Date.now()` time): past it the leases it would renew have run out anyway.
   */
  private batch<R extends object>(text: string, values: unknown[], deadline: number): Promise<R[]> {
    return this.database.leases.query<R & Record<string, unknown>>({ text, values }, { idempotent: true, deadline });
  }
}

/** The key of a lease in {@link SubscriptionsRepository.renewAll}'s answer. */
export function leaseKey(name: string, owner: string): string {
  return `${name}\u0000${owner}`;
}
