/**
 * `@game-bot/event-store`: a PostgreSQL event store for NestJS. What a host app writes: the module,
 * the `EventStore` service, event classes and subscriptions, the health indicator, the errors.
 * Test helpers are in `@game-bot/event-store/testing`, the HTTP exception filter in
 * `@game-bot/event-store/http`.
 */
export { EventStoreModule, EventStoreFeatureModule, type EventStoreFeatureOptions } from './event-store.module.js';
export { EVENT_STORE_MODULE_OPTIONS, EVENT_STORE_OPTIONS } from './configuration/event-store-configuration.module-definition.js';
export { EventStore } from './event-store.service.js';
export type { StoreQueryResult, StoreTransaction } from './transactions/store-transaction.js';
export type { TransactionOptions } from './transactions/transaction-runner.js';
export { Aggregate } from './aggregates/aggregate.js';
export type { AggregateOptions, AggregateState, Decider, HandleOptions, HandleResult } from './aggregates/decider.js';
export type { SnapshotContext, SnapshotPredicate } from './aggregates/snapshot-policy.js';
export { EventStoreConnection } from './storage/event-store-connection.js';

export type {
  ConnectionPooler,
  EmbeddedPostgresOptions,
  EventStoreModuleOptions,
  MigrationsMode,
  NotificationsMode,
  PostgresConnectionOptions,
  RetryOptions,
} from './configuration/event-store-options.interface.js';
export { DEFAULT_DATABASE, type ResolvedEventStoreOptions } from './configuration/resolve-event-store-options.js';

export { ExpectedVersion } from './types/expected-version.js';
export { EventType, type EventTypeOptions, type Upcaster, type UpcastContext } from './serialization/event-type.decorator.js';
export { EventTypeRegistrationError, type UpcasterRegistration } from './serialization/event-type-registry.js';
export { JsonBigInt } from './serialization/json-bigint.decorator.js';
export { PlainPayload } from './serialization/class-transformer-metadata.js';
export { causedBy } from './serialization/correlation.js';
export { assertJsonDepth, MAX_JSON_DEPTH } from './serialization/json-payload.js';
export type { FieldFailure } from './serialization/validation-failures.js';
export type { EventData, EventLink, JsonObject, RecordedEvent } from './types/event-data.js';
export type {
  AppendCondition,
  AppendConditionItem,
  AppendOptions,
  AppendResult,
  DeleteStreamOptions,
  MultiStreamAppendResult,
  StreamAppend,
  StreamAppendResult,
} from './types/append-result.js';
export type { AllFilter, ReadAllOptions, ReadAllResult, ReadStreamOptions } from './types/read-options.js';
export type { ListStreamsOptions, ListStreamsResult, StreamInfo } from './types/stream-info.js';
export type { RecordedSnapshot, SnapshotData } from './types/snapshot.js';
export type { EventStoreObserver } from './types/event-store-observer.js';

export type { EventHandler, StartFrom, Subscription, SubscriptionOptions } from './subscriptions/subscription-options.js';
export type { FailedDelivery } from './types/failed-delivery.js';
export type { SubscriptionStatus } from './types/subscription-status.js';
export { SubscribeTo, type SubscribeToOptions } from './subscriptions/subscribe-to.decorator.js';
export type { RetryReport } from './types/retry-report.js';

export { Projection, type ProjectionOptions } from './projections/projection.decorator.js';
export type { ProjectionHandler, ProjectionTables } from './projections/projection-handler.js';
export type {
  ProjectionError,
  ProjectionRebuildStatus,
  ProjectionState,
  ProjectionStatus,
  RebuildOptions,
  RebuildProgress,
  RebuildRequestOptions,
  RebuildRequestProgress,
  RebuildRequestResult,
  RebuildResult,
} from './projections/projection-status.js';

export {
  EventStoreHealthIndicator,
  subscriptionTotals,
  type EventStoreHealthThresholds,
  type SubscriptionTotals,
} from './health/event-store-health.indicator.js';
export { EventStoreHealth, type PoolUsage, type SubscriptionHealth } from './health/event-store-health.js';

export { EventStoreErrorCode } from './errors/event-store-error-code.js';
export { EventStoreError, type EventStoreErrorDetails } from './errors/event-store.error.js';
export { WrongExpectedVersionError } from './errors/wrong-expected-version.error.js';
export { StreamNotFoundError } from './errors/stream-not-found.error.js';
export { StreamDeletedError } from './errors/stream-deleted.error.js';
export { DuplicateEventError } from './errors/duplicate-event.error.js';
export { InvalidArgumentError } from './errors/invalid-argument.error.js';
export { UnknownEventTypeError } from './errors/unknown-event-type.error.js';
export { EventValidationFailedError } from './errors/event-validation-failed.error.js';
export { UnsupportedSchemaVersionError } from './errors/unsupported-schema-version.error.js';
export { CorruptedEventError } from './errors/corrupted-event.error.js';
export { UnauthorizedError } from './errors/unauthorized.error.js';
export { ForbiddenError } from './errors/forbidden.error.js';
export { StoreUnavailableError } from './errors/store-unavailable.error.js';
export { EventStoreTimeoutError } from './errors/event-store-timeout.error.js';
export { AppendConditionFailedError } from './errors/append-condition-failed.error.js';

export { DataSubject, PersonalData } from './erasure/personal-data.decorator.js';
export type { PersonalDataDeclaration } from './erasure/personal-data-declaration.js';
export type { ErasureOptions } from './configuration/event-store-options.interface.js';
export type { ForgetSubjectResult } from './erasure/forget-subject-result.js';
export { isErasedValue, type ErasedValue, type SealedValue } from './erasure/personal-envelope.js';
export { SubjectForgottenError } from './erasure/subject-forgotten.error.js';
export { SubjectKeyUnavailableError } from './erasure/subject-key-unavailable.error.js';

export type { LongOperationOptions, OperationProgress, ProgressListener } from './operations/progress.js';
export type { ExportOptions, ExportResult } from './operations/export-options.js';
export type { ImportOptions, ImportResult } from './operations/import-options.js';
export type { ExportedEventLine } from './operations/exported-event-line.js';
export type { CorruptedEventReference, VerifyOptions, VerifyResult } from './operations/verify-options.js';
export type { RestampedRows, RestampOptions, RestampResult } from './operations/restamp-result.js';
export type { ScavengeOptions } from './retention/scavenge-options.js';
export type { ScavengeResult } from './retention/scavenge-result.js';

export { TRACER_NAME } from './tracing/store-tracer.js';
export { SpanNames } from './tracing/store-spans.js';
export { TRACEPARENT_METADATA_KEY } from './tracing/trace-metadata.js';
