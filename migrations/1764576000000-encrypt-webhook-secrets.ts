import type { MigrationInterface, QueryRunner } from 'typeorm';
import { storeSchema } from '@game-bot/event-store/internal';

/**
 * Webhook secrets stored encrypted (`encrypted_secret`, see the service's `WebhookSecrets`)
 * instead of in plain text. A migration has no key, so it only makes room: `secret` keeps the
 * plain text of the rows written before, and the service encrypts them at boot (once
 * `WEBHOOK_SECRETS_KEY` is set), emptying `secret`. A row holds exactly one of the two.
 *
 * Reverting needs every secret in plain text again, which only the service could decrypt: it is
 * refused while a row holds an encrypted secret only.
 */
export class EncryptWebhookSecrets1764576000000 implements MigrationInterface {
  name = 'EncryptWebhookSecrets1764576000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    await queryRunner.query(`ALTER TABLE ${s}.webhooks ADD COLUMN encrypted_secret text, ALTER COLUMN secret DROP NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE ${s}.webhooks ADD CONSTRAINT webhooks_one_secret CHECK ((secret IS NULL) <> (encrypted_secret IS NULL))`,
    );
    await queryRunner.query(
      `COMMENT ON COLUMN ${s}.webhooks.secret IS 'Plain text, only in rows written before secrets were encrypted: the service encrypts them at boot'`,
    );
    await queryRunner.query(
      `COMMENT ON COLUMN ${s}.webhooks.encrypted_secret IS 'v1:<keyId>:<iv>:<tag>:<ciphertext> (AES-256-GCM, base64url)'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = storeSchema(queryRunner);
    const [{ count }] = (await queryRunner.query(`SELECT count(*)::int AS count FROM ${s}.webhooks WHERE secret IS NULL`)) as Array<{
      count: number;
    }>;
    if (count > 0) {
      throw new Error(
        `${count} webhook(s) hold an encrypted secret only, which a migration cannot decrypt: delete them (DELETE /subscriptions/{name}) before reverting ${this.name}`,
      );
    }
    await queryRunner.query(`ALTER TABLE ${s}.webhooks DROP CONSTRAINT webhooks_one_secret`);
    await queryRunner.query(`ALTER TABLE ${s}.webhooks DROP COLUMN encrypted_secret, ALTER COLUMN secret SET NOT NULL`);
    await queryRunner.query(`COMMENT ON COLUMN ${s}.webhooks.secret IS NULL`);
  }
}
