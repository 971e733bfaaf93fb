import { CreateEventStore1764230400000 } from './1764230400000-create-event-store.js';

/** Every migration of the store, oldest first. */
export const eventStoreMigrations = [CreateEventStore1764230400000];
