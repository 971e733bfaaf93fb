/**
 * `@game-bot/event-store/internal`: the store's own parts, for the event store service, its
 * command line, benchmarks and tests. Not part of the public API: names and shapes here may change
 * in any release. Applications use `@game-bot/event-store`.
 */
export { resolveEventStoreOptions, type ResolvedEventStoreOptions } from './configuration/resolve-event-store-options.js';
export { EventStoreCoreModule } from './event-store-core.module.js';
export { EventStorageModule } from './storage/event-storage.module.js';
export { EventStoreDatabase } from './storage/event-store-database.js';
export { MIGRATION_LOCK_CLASS, MigrationRunner, type MigrationRunnerOptions, type MigrationStatus } from './storage/migration-runner.js';
export { eventStoreMigrations } from './storage/migrations/index.js';
export { storeSchema } from './storage/migrations/store-schema.js';
export { checkServerCanRun, EmbeddedPostgresServer, type EmbeddedPostgresServerOptions } from './storage/embedded-postgres.server.js';
export { EventStoreObservers } from './storage/event-store-observers.js';
export { EventTypeRegistry, type RegisteredEventType } from './serialization/event-type-registry.js';
export { EventSerializer } from './serialization/event-serializer.js';
export { FailedDeliveryWorker, type FailedDeliveryWorkerStats } from './subscriptions/failed-delivery.worker.js';
export { SubscriptionManager } from './subscriptions/subscription-manager.js';
export { SUBSCRIBE_TO, type SubscribeToMetadata } from './subscriptions/subscribe-to.decorator.js';
export { answerWithin, checkFailure } from './health/bounded-check.js';
export { parseMasterKey } from './erasure/master-keys.js';
export { resolvePersonalData } from './erasure/personal-data-declaration.js';
export { PersonalDataVault } from './erasure/personal-data.vault.js';
export { isSealedValue, sealedSubjects } from './erasure/personal-envelope.js';
export { recordFailure, traced } from './tracing/store-tracer.js';
