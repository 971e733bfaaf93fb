import { Inject, Injectable } from '@nestjs/common';
import type { StartFrom } from '@game-bot/event-store';
import { EventStoreDatabase } from '@game-bot/event-store/internal';
import type { StoredSecret, StoredWebhook, WebhookDefinition } from './webhook-definition.js';

interface WebhookRow {
  name: string;
  url: string;
  /** Plain text: only in rows written before secrets were encrypted (the table holds one of the two). */
  secret: string | null;
  encrypted_secret: string | null;
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

/** What {@link WebhooksRepository.insert} did: stored it, or found the name taken or the table full. */
export type InsertOutcome = { stored: StoredWebhook } | { refused: 'exists' } | { refused: 'full'; count: number };

const COLUMNS = 'name, url, secret, encrypted_secret, stream_id, filter, start_from, options, created_at';
const READ = { idempotent: true } as const;

/** The `webhooks` table, and the state of their subscriptions. */
@Injectable()
export class WebhooksRepository {
  private readonly s: string;

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    this.s = database.schema;
  }

  /**
   * Stores a new webhook with its encrypted secret, unless the name is taken or `max` webhooks
   * exist. Creations queue on a table lock (which reads do not wait for), so that two at the
   * limit cannot both count the same rows and both insert.
   */
  async insert(webhook: WebhookDefinition, encryptedSecret: string, max: number): Promise<InsertOutcome> {
    return this.database.executor.transaction(
      async (session) => {
        await session.query(`LOCK TABLE ${this.s}.webhooks IN SHARE ROW EXCLUSIVE MODE`);
        const counted = await session.query<{ count: number; taken: boolean }>({
          text: `SELECT count(*)::int AS count, coalesce(bool_or(name = $1), false) AS taken FROM ${this.s}.webhooks`,
          values: [webhook.name],
        });
        const { count, taken } = counted.rows[0]!;
        if (taken) return { refused: 'exists' };
        if (count >= max) return { refused: 'full', count };
        const [row] = (await session.query<WebhookRow>(insertStatement(this.s, webhook, encryptedSecret))).rows;
        return row === undefined ? { refused: 'exists' } : { stored: toStored(row) };
      },
      { idempotent: false },
    );
  }

  /**
   * Replaces a webhook's stored secret (plain text, or encrypted with a previous key) with
   * `encryptedSecret`, provided the row still holds `previous`: instances doing it at once change
   * it once, and a webhook deleted or re-created meanwhile is left alone. `false` when not replaced.
   */
  async replaceSecret(name: string, previous: StoredSecret, encryptedSecret: string): Promise<boolean> {
    const column = previous.kind === 'plain' ? 'secret' : 'encrypted_secret';
    const rows = await this.database.executor.query(
      {
        text: `UPDATE ${this.s}.webhooks SET encrypted_secret = $3, secret = NULL WHERE name = $1 AND ${column} = $2 RETURNING name`,
        values: [name, previous.value, encryptedSecret],
      },
      { idempotent: true },
    );
    return rows.length === 1;
  }

  /** Every webhook, by name. */
  async list(): Promise<StoredWebhook[]> {
    const rows = await this.database.executor.query<WebhookRow>({ text: `SELECT ${COLUMNS} FROM ${this.s}.webhooks ORDER BY name` }, READ);
    return rows.map(toStored);
  }

  /** One webhook, or `undefined`. */
  async find(name: string): Promise<StoredWebhook | undefined> {
    const rows = await this.database.executor.query<WebhookRow>(
      { text: `SELECT ${COLUMNS} FROM ${this.s}.webhooks WHERE name = $1`, values: [name] },
      READ,
    );
    return rows.map(toStored)[0];
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

function insertStatement(s: string, webhook: WebhookDefinition, encryptedSecret: string): { text: string; values: unknown[] } {
  const { name, url, streamId, filter, startFrom, onFailure, retry, failedRetry } = webhook;
  return {
    text: `INSERT INTO ${s}.webhooks (name, url, encrypted_secret, stream_id, filter, start_from, options)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    values: [
      name,
      url,
      encryptedSecret,
      streamId === '$all' ? null : streamId,
      filter,
      String(startFrom),
      { onFailure, retry, failedRetry },
    ],
  };
}

function toStored(row: WebhookRow): StoredWebhook {
  return {
    name: row.name,
    url: row.url,
    storedSecret:
      row.encrypted_secret !== null ? { kind: 'encrypted', value: row.encrypted_secret } : { kind: 'plain', value: row.secret! },
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
