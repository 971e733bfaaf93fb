/**
 * `@game-bot/event-store/testing`: a throw-away store per test (its own schema, dropped
 * afterwards) on the server named by `EVENT_STORE_HOST` or an embedded PostgreSQL, and helpers a
 * test of a store user needs.
 */
export { createTestEventStore, uniqueSchemaName, type TestEventStore, type TestEventStoreOptions } from './test-event-store.js';
export { startTestDatabase, testConnectionFromEnvironment, TEST_DATABASE, type TestDatabase } from './test-database.js';
export { collectEvents, waitUntilCaughtUp, type EventCollector } from './event-collector.js';
