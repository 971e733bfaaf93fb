import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from './store-schema.js';

/**
 * Persistent subscriptions: where each one stands (its checkpoint, the last event it handled),
 * which process runs it (a lease, renewed while it runs and taken over once it lapses), and the
 * deliveries that failed past their in-line retries (retried later by a scheduled worker, then
 * dead-lettered), and the live members of subscription groups (which share its partitions).
 */
export class CreateSubscriptions1764316800000 implements MigrationInterface {
  name = 'CreateSubscriptions1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`
      CREATE TABLE ${s}.subscriptions (
        name text COLLATE "C" PRIMARY KEY,
        stream_id text COLLATE "C",
        filter jsonb NOT NULL DEFAULT '{}',
        checkpoint bigint NOT NULL DEFAULT 0 CHECK (checkpoint >= 0),
        owner text,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.subscription_failures (
        subscription text COLLATE "C" NOT NULL REFERENCES ${s}.subscriptions (name) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        global_position bigint NOT NULL,
        stream_id text COLLATE "C" NOT NULL,
        stream_version bigint NOT NULL,
        attempts integer NOT NULL CHECK (attempts >= 1),
        last_error text NOT NULL,
        status text NOT NULL CHECK (status IN ('failed', 'dead')),
        next_attempt_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscription, event_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.subscription_members (
        subscription text COLLATE "C" NOT NULL,
        member text NOT NULL,
        last_seen timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscription, member)
      )`);
    await queryRunner.query(
      `CREATE INDEX subscription_failures_due_idx ON ${s}.subscription_failures (subscription, next_attempt_at) WHERE status = 'failed'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`DROP TABLE ${s}.subscription_members, ${s}.subscription_failures, ${s}.subscriptions`);
  }
}
