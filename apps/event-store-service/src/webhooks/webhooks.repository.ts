import { Inject, Injectable } from '@nestjs/common';
import type { StartFrom } from '@game-bot/event-store';
import { EventStoreDatabase } from '@game-bot/event-store/internal';
import type { WebhookDefinition } from './webhook-definition.js';

interface WebhookRow {
  name: string;
  url: string;
  secret: string;
  stream_id: string | null;
  filter: WebhookDefinition['filter'];
  start_from: string;
  options: Pick<WebhookDefinition, 'onFailure' | 'retry' | 'failedRetry'>;
  created_at: Date;
}

/** A webhook subscription's checkpoint and lease. */
export interface LeaseRow {
  name: string;
  checkpoint: string;
  owner: string | null;
  lease_until: Date | null;
}

const COLUMNS = 'name, url, secret, stream_id, filter, start_from, options, created_at';
const READ = { idempotent: true } as const;

/** The `webhooks` table, and the state of their subscriptions. */
@Injectable()
export class WebhooksRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /** Stores a new webhook and returns it as stored; `undefined` when one of that name exists. */
  async insert(webhook: WebhookDefinition): Promise<WebhookDefinition | undefined> {
    const { name, url, secret, streamId, filter, startFrom, onFailure, retry, failedRetry } = webhook;
    const rows = await this.database.executor.query<WebhookRow>(
      {
        text: `INSERT INTO ${this.s}.webhooks (name, url, secret, stream_id, filter, start_from, options)
               VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
        values: [name, url, secret, streamId === '$all' ? null : streamId, filter, String(startFrom), { onFailure, retry, failedRetry }],
      },
      { idempotent: false },
    );
    return rows.map(toDefinition)[0];
  }

  /** Every webhook, by name. */
  async list(): Promise<WebhookDefinition[]> {
    const rows = await this.database.executor.query<WebhookRow>({ text: `SELECT ${COLUMNS} FROM ${this.s}.webhooks ORDER BY name` }, READ);
    return rows.map(toDefinition);
  }

  /** One webhook, or `undefined`. */
  async find(name: string): Promise<WebhookDefinition | undefined> {
    const rows = await this.database.executor.query<WebhookRow>(
      { text: `SELECT ${COLUMNS} FROM ${this.s}.webhooks WHERE name = $1`, values: [name] },
      READ,
    );
    return rows.map(toDefinition)[0];
  }

  /** Deletes a webhook; `false` when there was none. */
  async delete(name: string): Promise<boolean> {
    const rows = await this.database.executor.query(
      { text: `DELETE FROM ${this.s}.webhooks WHERE name = $1 RETURNING name`, values: [name] },
      { idempotent: true },
    );
    return rows.length === 1;
  }

  /** The checkpoint and lease of the named webhooks' subscriptions (those that have started). */
  async leases(names: string[]): Promise<Map<string, LeaseRow>> {
    const rows = await this.database.executor.query<LeaseRow>(
      { text: `SELECT name, checkpoint, owner, lease_until FROM ${this.s}.subscriptions WHERE name = ANY($1::text[])`, values: [names] },
      READ,
    );
    return new Map(rows.map((row) => [row.name, row]));
  }
}

function toDefinition(row: WebhookRow): WebhookDefinition {
  return {
    name: row.name,
    url: row.url,
    secret: row.secret,
    streamId: row.stream_id ?? '$all',
    filter: row.filter,
    startFrom: parseStartFrom(row.start_from),
    onFailure: row.options.onFailure ?? 'skip',
    retry: row.options.retry ?? {},
    failedRetry: row.options.failedRetry ?? {},
    createdAt: row.created_at,
  };
}

function parseStartFrom(text: string): StartFrom {
  return text === 'origin' || text === 'end' ? text : Number(text);
}
