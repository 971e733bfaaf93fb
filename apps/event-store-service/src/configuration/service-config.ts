import { plainToInstance } from 'class-transformer';
import { existsSync } from 'node:fs';
import { validateSync } from 'class-validator';
import type { EventStoreModuleOptions } from '@game-bot/event-store';
import { SERVICE_MIGRATE_COMMAND } from '../../../../migrations/index.js';
import { AccessTokens, type Role } from '../auth/access-tokens.js';
import type { HealthThresholds } from '../health/health-thresholds.js';
import type { LiveLimits } from '../live/live-limits.js';
import type { ScavengeSettings } from '../retention/scavenge-settings.js';
import { WebhookSecrets } from '../webhooks/webhook-secrets.js';
import { WebhookTargets } from '../webhooks/webhook-targets.js';
import { EnvironmentVariables } from './environment-variables.js';
import { erasureSettings } from './erasure-settings.js';
import { otlpTracesUrl, type TracingSettings } from '../tracing/tracing-settings.js';

/** The service's validated configuration. */
export interface ServiceConfig {
  environment: 'development' | 'test' | 'production';
  httpPort: number;
  eventStore: EventStoreModuleOptions;
  health: HealthThresholds;
  auth: { tokens: Array<{ token: string; role: Role }>; publicHealthAndMetrics: boolean };
  http: HttpSettings;
  logging: { format: 'json' | 'text'; level: EnvironmentVariables['LOG_LEVEL'] };
  tracing: TracingSettings;
  live: LiveLimits;
  scavenge: ScavengeSettings;
  webhooks: { targets: WebhookTargets; secrets: WebhookSecrets; maxSubscriptions: number; timeoutMs: number; syncIntervalMs: number };
}

/** The HTTP server's limits (see `createHttpAdapter`) and how it stops (see `GracefulShutdown`). */
export interface HttpSettings {
  /** Largest request body (HTTP_BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
  /** Longest wait for a request's headers, counted from the connection or the request's first byte (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Longest wait for a whole request, headers and body (HTTP_REQUEST_TIMEOUT_MS); never applies to the response. */
  requestTimeoutMs: number;
  /** How long a connection may stay idle between requests (HTTP_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Most connections open at once; past it, new ones are closed at once (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Longest wait for the requests in flight at shutdown (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** How long kept-alive connections stay open at shutdown, answering 503, before the idle ones are closed (SHUTDOWN_DRAIN_MS). */
  shutdownDrainMs: number;
}

/** A configuration value that stops the boot; its message is one line naming the variable. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * The process environment, with the variables of `.env` (when the working directory has one)
 * filling in those that are unset: the real environment wins.
 */
export function processEnvironment(path = '.env'): NodeJS.ProcessEnv {
  if (existsSync(path)) {
    process.loadEnvFile(path);
  }
  return process.env;
}

/**
 * Validates the environment once, at boot. Empty strings count as unset. Throws
 * {@link ConfigurationError} on the first bad value, or on an unsafe production set-up.
 */
export function loadServiceConfig(environment: NodeJS.ProcessEnv): ServiceConfig {
  const variables = parseEnvironment(environment);
  const production = variables.NODE_ENV === 'production';
  if (production && variables.EVENT_STORE_HOST === undefined && !variables.EVENT_STORE_ALLOW_EMBEDDED) {
    throw new ConfigurationError(
      'EVENT_STORE_HOST is unset in production: set it to your PostgreSQL server, or set EVENT_STORE_ALLOW_EMBEDDED=true to run on the embedded database',
    );
  }
  const tokens = parseTokens(variables.EVENT_STORE_TOKENS);
  if (production && tokens.length === 0 && !variables.EVENT_STORE_ALLOW_NO_AUTH) {
    throw new ConfigurationError(
      'EVENT_STORE_TOKENS is unset in production: set token:role pairs (read, write, admin), or EVENT_STORE_ALLOW_NO_AUTH=true to run without access control',
    );
  }
  return {
    environment: variables.NODE_ENV,
    auth: { tokens, publicHealthAndMetrics: variables.PUBLIC_HEALTH_AND_METRICS },
    httpPort: variables.PORT,
    eventStore: eventStoreOptions(variables, production),
    health: {
      readyTimeoutMs: variables.HEALTH_READY_TIMEOUT_MS,
      databaseTimeoutMs: variables.HEALTH_DATABASE_TIMEOUT_MS,
      maxSubscriptionLag: variables.HEALTH_MAX_SUBSCRIPTION_LAG,
      maxFailedDeliveries: variables.HEALTH_MAX_FAILED_DELIVERIES,
      maxVisibilityLagSeconds: variables.HEALTH_MAX_VISIBILITY_LAG_SECONDS,
    },
    http: httpSettings(variables),
    logging: { format: variables.LOG_FORMAT, level: variables.LOG_LEVEL },
    tracing: {
      // OTEL_SDK_DISABLED=true turns tracing off, whatever the exporter (the standard meaning).
      exporter: variables.OTEL_SDK_DISABLED ? 'none' : variables.OTEL_TRACES_EXPORTER,
      serviceName: variables.OTEL_SERVICE_NAME,
      otlpTracesUrl: otlpTracesUrl(variables.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, variables.OTEL_EXPORTER_OTLP_ENDPOINT),
      sampler: variables.OTEL_TRACES_SAMPLER,
      samplerRatio: variables.OTEL_TRACES_SAMPLER_ARG,
    },
    live: {
      heartbeatMs: variables.SSE_HEARTBEAT_MS,
      maxBufferedBytes: variables.SSE_MAX_BUFFERED_BYTES,
      slowClientTimeoutMs: variables.SSE_SLOW_CLIENT_TIMEOUT_MS,
      maxConnections: variables.SSE_MAX_CONNECTIONS,
    },
    webhooks: webhookSettings(variables, production),
    scavenge: { intervalSeconds: variables.EVENT_STORE_SCAVENGE_INTERVAL_SECONDS, batchSize: variables.EVENT_STORE_SCAVENGE_BATCH_SIZE },
  };
}

function webhookSettings(variables: EnvironmentVariables, production: boolean): ServiceConfig['webhooks'] {
  const secrets = parseOrFail(() => WebhookSecrets.parse(variables.WEBHOOK_SECRETS_KEY, variables.WEBHOOK_SECRETS_PREVIOUS_KEYS));
  // Production allows no webhook target until WEBHOOK_ALLOWED_URLS lists some: only then are webhooks in use.
  if (production && variables.WEBHOOK_ALLOWED_URLS !== undefined && !secrets.configured) {
    throw new ConfigurationError(
      'WEBHOOK_SECRETS_KEY is unset in production while WEBHOOK_ALLOWED_URLS allows webhooks: set it to 32 random bytes (base64 or hex, e.g. `openssl rand -base64 32`) to encrypt their secrets',
    );
  }
  return {
    targets: parseOrFail(() => WebhookTargets.parse(variables.WEBHOOK_ALLOWED_URLS, production)),
    secrets,
    maxSubscriptions: variables.WEBHOOK_MAX_SUBSCRIPTIONS,
    timeoutMs: variables.WEBHOOK_TIMEOUT_MS,
    syncIntervalMs: variables.WEBHOOK_SYNC_INTERVAL_MS,
  };
}

/**
 * What the configuration allows but is unsafe, one line each, for the boot to log as warnings:
 * production without access control.
 */
export function configurationWarnings(config: Pick<ServiceConfig, 'environment' | 'auth'>): string[] {
  if (config.environment === 'production' && config.auth.tokens.length === 0) {
    return [
      'Access control is off in production (EVENT_STORE_ALLOW_NO_AUTH=true): anyone who can reach the service may read, append and delete; set EVENT_STORE_TOKENS to turn it on',
    ];
  }
  return [];
}

function httpSettings(variables: EnvironmentVariables): HttpSettings {
  // Node refuses a server whose headers may take longer than the whole request.
  if (variables.HTTP_HEADERS_TIMEOUT_MS > variables.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigurationError(
      `Invalid configuration: HTTP_HEADERS_TIMEOUT_MS (${variables.HTTP_HEADERS_TIMEOUT_MS}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${variables.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  return {
    bodyLimitBytes: variables.HTTP_BODY_LIMIT_BYTES,
    headersTimeoutMs: variables.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: variables.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: variables.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: variables.HTTP_MAX_CONNECTIONS,
    shutdownGraceMs: variables.SHUTDOWN_GRACE_MS,
    shutdownDrainMs: variables.SHUTDOWN_DRAIN_MS,
  };
}

function parseTokens(text: string | undefined): Array<{ token: string; role: Role }> {
  return parseOrFail(() => AccessTokens.parse(text));
}

/** A variable parsed by its own parser, whose error becomes the one configuration line. */
function parseOrFail<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConfigurationError(`Invalid configuration: ${(error as Error).message}`);
  }
}

function parseEnvironment(environment: NodeJS.ProcessEnv): EnvironmentVariables {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const variables = plainToInstance(EnvironmentVariables, present);
  const [error] = validateSync(variables, { stopAtFirstError: true });
  if (error !== undefined) {
    const message = Object.values(error.constraints ?? {})[0] ?? `${error.property} is invalid`;
    throw new ConfigurationError(`Invalid configuration: ${message} (got '${String(error.value)}')`);
  }
  return variables;
}

function eventStoreOptions(variables: EnvironmentVariables, production: boolean): EventStoreModuleOptions {
  if (variables.EVENT_STORE_POOLER === 'transaction' && variables.EVENT_STORE_NOTIFICATIONS === 'listen') {
    throw new ConfigurationError(
      'Invalid configuration: EVENT_STORE_NOTIFICATIONS=listen cannot work behind a pooler in transaction mode (EVENT_STORE_POOLER=transaction): set it to poll, or unset it',
    );
  }
  return {
    connection:
      variables.EVENT_STORE_HOST === undefined
        ? undefined
        : {
            host: variables.EVENT_STORE_HOST,
            port: variables.EVENT_STORE_PORT,
            user: variables.EVENT_STORE_USER,
            password: variables.EVENT_STORE_PASS,
            database: variables.EVENT_STORE_DB,
            ssl: variables.EVENT_STORE_SSL,
          },
    embedded: { dataDir: variables.EVENT_STORE_EMBEDDED_DATA_DIR, port: variables.EVENT_STORE_EMBEDDED_PORT },
    schema: variables.EVENT_STORE_SCHEMA,
    poolSize: variables.EVENT_STORE_POOL_SIZE,
    statementTimeoutMs: variables.EVENT_STORE_STATEMENT_TIMEOUT_MS,
    connectionTimeoutMs: variables.EVENT_STORE_CONNECT_TIMEOUT_MS,
    operationTimeoutMs: variables.EVENT_STORE_OPERATION_TIMEOUT_MS,
    retry: { maxAttempts: variables.EVENT_STORE_RETRY_ATTEMPTS },
    // Production never changes its schema behind the operator's back unless told to.
    migrations: variables.EVENT_STORE_MIGRATIONS ?? (production ? 'check' : 'run'),
    // `npx event-store migrate` applies the store's migrations only, not the service's own (webhooks).
    migrateCommand: SERVICE_MIGRATE_COMMAND,
    maxAppendEvents: variables.EVENT_STORE_MAX_APPEND_EVENTS,
    maxPageSize: variables.EVENT_STORE_MAX_PAGE_SIZE,
    pooler: variables.EVENT_STORE_POOLER,
    notifications: variables.EVENT_STORE_NOTIFICATIONS,
    notificationPollIntervalMs: variables.EVENT_STORE_NOTIFICATION_POLL_INTERVAL_MS,
    ...parseOrFail(() => erasureSettings(variables)),
  };
}
