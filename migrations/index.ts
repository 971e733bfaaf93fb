import { CreateWebhooks1764403200000 } from './1764403200000-create-webhooks.js';
import { EncryptWebhookSecrets1764576000000 } from './1764576000000-encrypt-webhook-secrets.js';

/**
 * The service's own migrations (its tables beside the store's, in the same schema), oldest first.
 * The store's migrations ship in the library; these are recorded in a table of their own.
 */
export const serviceMigrations = [CreateWebhooks1764403200000, EncryptWebhookSecrets1764576000000];

/** Where the service's applied migrations are recorded. */
export const SERVICE_MIGRATIONS_TABLE = 'event_store_service_migrations';

/** The command that applies the store's migrations and the service's (`npx event-store migrate` applies the store's only). */
export const SERVICE_MIGRATE_COMMAND = 'npm run migrate';
