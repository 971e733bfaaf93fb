import { CreateEventStore1764230400000 } from './1764230400000-create-event-store.js';
import { CreateSubscriptions1764316800000 } from './1764316800000-create-subscriptions.js';
import { CreateWebhooks1764403200000 } from './1764403200000-create-webhooks.js';

/** Every migration of the store, oldest first. */
export const eventStoreMigrations = [CreateEventStore1764230400000, CreateSubscriptions1764316800000, CreateWebhooks1764403200000];
