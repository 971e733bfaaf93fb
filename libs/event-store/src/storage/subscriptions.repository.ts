import { Inject, Injectable } from '@nestjs/common';
import { EventStoreDatabase } from './event-store-database.js';
import {
  acquireLeaseSql,
  candidatesSql,
  createSubscriptionSql,
  deleteSubscriptionSql,
  heartbeatMemberSql,
  leaveGroupSql,
  liveMembersSql,
  readSubscriptionSql,
  releaseLeaseSql,
  renewLeaseSql,
  type SubscriptionRow,
} from './sql/subscriptions.sql.js';
import type { AllFilter } from '../types/read-options.js';

/** What a persistent subscription reads: `$all` (stream `null`) or one stream, and its filter. */
export interface SubscriptionDefinition {
  streamId: string | null;
  filter: AllFilter;
}

/** The rows of persistent subscriptions: definition, checkpoint and lease. */
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
    const [row] = await this.query<{ checkpoint: string | null; present: boolean }>(acquireLeaseSql(this.s), [name, owner, leaseMs]);
    if (row!.checkpoint !== null) return Number(row!.checkpoint);
    return row!.present ? 'held' : 'gone';
  }

  /** Renews the lease (and writes the checkpoint, if given); `false` when the lease was lost. */
  async renew(name: string, owner: string, leaseMs: number, checkpoint: number | null): Promise<boolean> {
    const rows = await this.query(renewLeaseSql(this.s), [name, owner, leaseMs, checkpoint]);
    return rows.length > 0;
  }

  /** Hands the lease back, writing the checkpoint. */
  async release(name: string, owner: string, checkpoint: number | null): Promise<void> {
    await this.query(releaseLeaseSql(this.s), [name, owner, checkpoint]);
  }

  /** Removes the subscription; `false` if there was none. */
  async delete(name: string): Promise<boolean> {
    const rows = await this.database.executor.run(
      async (session) => (await session.query(deleteSubscriptionSql(this.s), [name])).rowCount ?? 0,
      { idempotent: true },
    );
    return rows > 0;
  }

  /** Records that `member` of group `name` is alive; returns how many members are. */
  async heartbeat(name: string, member: string, aliveMs: number): Promise<number> {
    await this.query(heartbeatMemberSql(this.s), [name, member]);
    const [row] = await this.query<{ members: number }>(liveMembersSql(this.s), [name, aliveMs]);
    return Math.max(1, row?.members ?? 1);
  }

  /** The live processes that want subscription `name`, with the leases each holds, fewest first. */
  async candidates(name: string, aliveMs: number): Promise<Array<{ member: string; leases: number }>> {
    return this.query<{ member: string; leases: number }>(candidatesSql(this.s), [name, aliveMs]);
  }

  /** Removes `member` from group `name`. */
  async leave(name: string, member: string): Promise<void> {
    await this.query(leaveGroupSql(this.s), [name, member]);
  }

  private query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    return this.database.executor.query<R & Record<string, unknown>>({ text, values }, { idempotent: true });
  }
}
