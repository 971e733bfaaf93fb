import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateBy } from 'class-validator';
import { SAMPLERS, type SamplerName, type TracesExporter } from '../tracing/tracing-settings.js';

const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;
const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** An integer variable in `min..max`, given as a decimal string; `message` names it and the range. */
function IntegerVariable(message: string, min: number, max = Number.MAX_SAFE_INTEGER): PropertyDecorator {
  return applyDecorators(Transform(toInteger), IsInt({ message }), Min(min, { message }), Max(max, { message }));
}

/**
 * An http(s) URL, as `new URL` parses it (what the exporter does): any host name a resolver
 * accepts, `otel_collector` of a Docker Compose network included, which class-validator's IsUrl
 * refuses for its underscore.
 */
function HttpUrlVariable(message: string): PropertyDecorator {
  return ValidateBy({ name: 'isHttpUrl', validator: { validate: isHttpUrl } }, { message });
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The one OTLP protocol the exporter speaks; any other stops the boot rather than being ignored. */
const OTLP_PROTOCOLS = ['http/json'] as const;

/** The service's environment, as class-validator checks it at boot. Every variable is in `.env.example`. */
export class EnvironmentVariables {
  @IsIn(['development', 'test', 'production'], { message: 'NODE_ENV must be development, test or production' })
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @IntegerVariable('PORT must be an integer from 1 to 65535', 1, 65535)
  PORT = 3000;

  @IsOptional()
  @IsString()
  @MinLength(1, { message: 'EVENT_STORE_HOST must be a host name, or unset to use the embedded database' })
  EVENT_STORE_HOST?: string;

  @IntegerVariable('EVENT_STORE_PORT must be an integer from 1 to 65535', 1, 65535)
  EVENT_STORE_PORT = 5432;

  @IsString()
  @MinLength(1, { message: 'EVENT_STORE_USER must not be empty' })
  EVENT_STORE_USER = 'postgres';

  @IsString()
  EVENT_STORE_PASS = 'postgres';

  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  @Matches(/^[^\u0000-\u001f]{1,63}$/, { message: 'EVENT_STORE_DB must be a database name of 1 to 63 characters' })
  EVENT_STORE_DB = 'game_bot_eventstore';

  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, {
    message: 'EVENT_STORE_SCHEMA must be a lower-case PostgreSQL name (letters, digits, _; at most 63)',
  })
  EVENT_STORE_SCHEMA = 'public';

  @IsOptional()
  @IntegerVariable('EVENT_STORE_POOL_SIZE must be an integer from 1 to 1000', 1, 1000)
  EVENT_STORE_POOL_SIZE?: number;

  @Transform(toBoolean)
  @IsBoolean({ message: 'EVENT_STORE_SSL must be true or false' })
  EVENT_STORE_SSL = false;

  @IntegerVariable('EVENT_STORE_STATEMENT_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  EVENT_STORE_STATEMENT_TIMEOUT_MS = 30_000;

  @IntegerVariable('EVENT_STORE_CONNECT_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  EVENT_STORE_CONNECT_TIMEOUT_MS = 5_000;

  @IntegerVariable('EVENT_STORE_OPERATION_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  EVENT_STORE_OPERATION_TIMEOUT_MS = 60_000;

  @IntegerVariable('EVENT_STORE_RETRY_ATTEMPTS must be an integer from 1 to 100', 1, 100)
  EVENT_STORE_RETRY_ATTEMPTS = 5;

  @IsString()
  @MinLength(1, { message: 'EVENT_STORE_EMBEDDED_DATA_DIR must be a directory path' })
  EVENT_STORE_EMBEDDED_DATA_DIR = './data/postgres';

  @IntegerVariable('EVENT_STORE_EMBEDDED_PORT must be an integer from 0 (any free port) to 65535', 0, 65535)
  EVENT_STORE_EMBEDDED_PORT = 0;

  @Transform(toBoolean)
  @IsBoolean({ message: 'EVENT_STORE_ALLOW_EMBEDDED must be true or false' })
  EVENT_STORE_ALLOW_EMBEDDED = false;

  @IsOptional()
  @IsIn(['run', 'check', 'skip'], { message: 'EVENT_STORE_MIGRATIONS must be run, check or skip' })
  EVENT_STORE_MIGRATIONS?: 'run' | 'check' | 'skip';

  @IntegerVariable('EVENT_STORE_MAX_APPEND_EVENTS must be an integer from 1 to 1000000', 1, 1_000_000)
  EVENT_STORE_MAX_APPEND_EVENTS = 10_000;

  @IntegerVariable('EVENT_STORE_MAX_PAGE_SIZE must be an integer from 1 to 100000', 1, 100_000)
  EVENT_STORE_MAX_PAGE_SIZE = 10_000;

  @IsIn(['none', 'transaction'], { message: 'EVENT_STORE_POOLER must be none or transaction (PgBouncer with pool_mode = transaction)' })
  EVENT_STORE_POOLER: 'none' | 'transaction' = 'none';

  /** Default: poll behind a transaction pooler, listen otherwise (resolved by the store). */
  @IsOptional()
  @IsIn(['listen', 'poll'], { message: 'EVENT_STORE_NOTIFICATIONS must be listen or poll' })
  EVENT_STORE_NOTIFICATIONS?: 'listen' | 'poll';

  @IntegerVariable('EVENT_STORE_NOTIFICATION_POLL_INTERVAL_MS must be a positive integer (milliseconds)', 1)
  EVENT_STORE_NOTIFICATION_POLL_INTERVAL_MS = 250;

  @IntegerVariable('HEALTH_READY_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  HEALTH_READY_TIMEOUT_MS = 3_000;

  @IntegerVariable('HEALTH_DATABASE_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  HEALTH_DATABASE_TIMEOUT_MS = 2_000;

  @IntegerVariable('HEALTH_MAX_SUBSCRIPTION_LAG must be an integer >= 0', 0)
  HEALTH_MAX_SUBSCRIPTION_LAG = 10_000;

  @IntegerVariable('HEALTH_MAX_FAILED_DELIVERIES must be an integer >= 0', 0)
  HEALTH_MAX_FAILED_DELIVERIES = 100;

  @IntegerVariable('HEALTH_MAX_VISIBILITY_LAG_SECONDS must be a positive integer (seconds)', 1)
  HEALTH_MAX_VISIBILITY_LAG_SECONDS = 60;

  /** Comma-separated `token:role` pairs (roles read, write, admin); parsed by AccessTokens.parse. */
  @IsOptional()
  @IsString()
  EVENT_STORE_TOKENS?: string;

  @Transform(toBoolean)
  @IsBoolean({ message: 'EVENT_STORE_ALLOW_NO_AUTH must be true or false' })
  EVENT_STORE_ALLOW_NO_AUTH = false;

  @Transform(toBoolean)
  @IsBoolean({ message: 'PUBLIC_HEALTH_AND_METRICS must be true or false' })
  PUBLIC_HEALTH_AND_METRICS = true;

  @IntegerVariable('HTTP_BODY_LIMIT_BYTES must be an integer from 1024 to 1073741824', 1024, 1_073_741_824)
  HTTP_BODY_LIMIT_BYTES = 4_194_304;

  @IntegerVariable('HTTP_HEADERS_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  HTTP_HEADERS_TIMEOUT_MS = 10_000;

  @IntegerVariable('HTTP_REQUEST_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  HTTP_REQUEST_TIMEOUT_MS = 30_000;

  @IntegerVariable('HTTP_KEEP_ALIVE_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 72_000;

  @IntegerVariable('HTTP_MAX_CONNECTIONS must be a positive integer', 1)
  HTTP_MAX_CONNECTIONS = 10_000;

  @IntegerVariable('SHUTDOWN_GRACE_MS must be an integer >= 0 (milliseconds)', 0)
  SHUTDOWN_GRACE_MS = 10_000;

  @IntegerVariable('SHUTDOWN_DRAIN_MS must be an integer >= 0 (milliseconds)', 0)
  SHUTDOWN_DRAIN_MS = 1_000;

  @IsIn(['json', 'text'], { message: 'LOG_FORMAT must be json or text' })
  LOG_FORMAT: 'json' | 'text' = 'json';

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'], { message: 'LOG_LEVEL must be error, warn, log, debug or verbose' })
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** `true` turns tracing off whatever OTEL_TRACES_EXPORTER says (the standard meaning). */
  @Transform(toBoolean)
  @IsBoolean({ message: 'OTEL_SDK_DISABLED must be true or false' })
  OTEL_SDK_DISABLED = false;

  @IsIn(['none', 'otlp', 'console'], { message: 'OTEL_TRACES_EXPORTER must be none, otlp or console' })
  OTEL_TRACES_EXPORTER: TracesExporter = 'none';

  @IsString()
  @MinLength(1, { message: 'OTEL_SERVICE_NAME must not be empty' })
  OTEL_SERVICE_NAME = 'event-store-service';

  @IsOptional()
  @HttpUrlVariable('OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, e.g. http://localhost:4318')
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  @IsOptional()
  @HttpUrlVariable('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL, e.g. http://localhost:4318/v1/traces')
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  /** Unset means http/json, the only protocol of the exporter (grpc and http/protobuf are refused, not ignored). */
  @IsOptional()
  @IsIn(OTLP_PROTOCOLS, {
    message: 'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json, the only OTLP protocol supported: unset it or set http/json',
  })
  OTEL_EXPORTER_OTLP_PROTOCOL?: (typeof OTLP_PROTOCOLS)[number];

  /** As OTEL_EXPORTER_OTLP_PROTOCOL, for traces (it wins over it in the standard). */
  @IsOptional()
  @IsIn(OTLP_PROTOCOLS, {
    message: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http/json, the only OTLP protocol supported: unset it or set http/json',
  })
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: (typeof OTLP_PROTOCOLS)[number];

  @IsIn(SAMPLERS, { message: `OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}` })
  OTEL_TRACES_SAMPLER: SamplerName = 'parentbased_always_on';

  @Transform(toNumber)
  @IsNumber({}, { message: 'OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1' })
  @Min(0, { message: 'OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1' })
  @Max(1, { message: 'OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1' })
  OTEL_TRACES_SAMPLER_ARG = 1;

  @IntegerVariable('SSE_HEARTBEAT_MS must be a positive integer (milliseconds)', 1)
  SSE_HEARTBEAT_MS = 15_000;

  @IntegerVariable('SSE_MAX_BUFFERED_BYTES must be an integer >= 1024', 1024)
  SSE_MAX_BUFFERED_BYTES = 1_048_576;

  @IntegerVariable('SSE_SLOW_CLIENT_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  SSE_SLOW_CLIENT_TIMEOUT_MS = 10_000;

  @IntegerVariable('SSE_MAX_CONNECTIONS must be a positive integer', 1)
  SSE_MAX_CONNECTIONS = 1_000;

  /** Comma-separated URL prefixes webhooks may target, or `*`; parsed by WebhookTargets.parse. */
  @IsOptional()
  @IsString()
  WEBHOOK_ALLOWED_URLS?: string;

  @IntegerVariable('WEBHOOK_TIMEOUT_MS must be a positive integer (milliseconds)', 1)
  WEBHOOK_TIMEOUT_MS = 10_000;

  @IntegerVariable('WEBHOOK_SYNC_INTERVAL_MS must be a positive integer (milliseconds)', 100)
  WEBHOOK_SYNC_INTERVAL_MS = 5_000;

  /**
   * The key that encrypts webhook secrets at rest (32 bytes, base64 or hex); parsed by
   * WebhookSecrets.parse, whose errors never repeat the value (class-validator's would).
   */
  @IsOptional()
  @IsString()
  WEBHOOK_SECRETS_KEY?: string;

  /** Comma-separated keys that only decrypt webhook secrets (key rotation); parsed by WebhookSecrets.parse. */
  @IsOptional()
  @IsString()
  WEBHOOK_SECRETS_PREVIOUS_KEYS?: string;

  @IntegerVariable('WEBHOOK_MAX_SUBSCRIPTIONS must be an integer from 0 to 1000000', 0, 1_000_000)
  WEBHOOK_MAX_SUBSCRIPTIONS = 1_000;

  /** 0 (the default) turns the scheduled scavenger off; at most 2,147,483 s (what a timer can wait). */
  @IntegerVariable('EVENT_STORE_SCAVENGE_INTERVAL_SECONDS must be an integer from 0 (off) to 2147483 (seconds)', 0, 2_147_483)
  EVENT_STORE_SCAVENGE_INTERVAL_SECONDS = 0;

  @IntegerVariable('EVENT_STORE_SCAVENGE_BATCH_SIZE must be an integer from 1 to 10000', 1, 10_000)
  EVENT_STORE_SCAVENGE_BATCH_SIZE = 500;

  /**
   * The key that wraps subject keys at rest (erasure of personal data; 32 bytes, base64 or hex),
   * and former ones (comma-separated) that only unwrap; parsed by `erasureSettings`, whose errors
   * never repeat the value (class-validator's would).
   */
  @IsOptional()
  @IsString()
  EVENT_STORE_MASTER_KEY?: string;

  @IsOptional()
  @IsString()
  EVENT_STORE_PREVIOUS_MASTER_KEYS?: string;

  /** Personal fields of plain events, as JSON `{ [eventType]: { subject, fields } }`; checked by `erasureSettings`. */
  @IsOptional()
  @IsString()
  EVENT_STORE_PERSONAL_DATA?: string;
}
