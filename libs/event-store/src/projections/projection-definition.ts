import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { AllFilter } from '../types/read-options.js';
import { assertName } from '../validation/stream-id.validation.js';
import type { ProjectionHandler, ProjectionTables } from './projection-handler.js';
import type { ProjectionOptions } from './projection.decorator.js';
import { checkTables } from './projection-tables.js';

/** A projection as it runs: its handler, its tables and its options with their defaults applied. */
export interface ProjectionDefinition {
  name: string;
  handler: ProjectionHandler;
  tables: ProjectionTables;
  /** The filter without `undefined` keys, as stored. */
  filter: AllFilter;
  batchSize: number;
  pollIntervalMs: number;
  timeoutMs: number | undefined;
  retry: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number };
  /** The provider's class name, for logs. */
  label: string;
}

/**
 * Checks a projection found at boot and applies the defaults. `checkFilter` refuses a filter that
 * a `$all` read would refuse. Any mistake fails the boot, naming the projection.
 */
export function defineProjection(
  name: string,
  handler: ProjectionHandler,
  options: ProjectionOptions,
  limits: { maxPageSize: number; checkFilter: (filter: AllFilter | undefined) => void },
): ProjectionDefinition {
  assertName(name, 'projection name');
  const label = (handler as object).constructor?.name ?? name;
  if (typeof handler?.handle !== 'function' || typeof handler.createTables !== 'function') {
    throw new InvalidArgumentError(
      `Projection '${name}' (${label}) must have handle(event, tx, tables) and createTables(tx, tables) methods`,
    );
  }
  if (options.filter?.partition !== undefined) {
    throw new InvalidArgumentError(`Projection '${name}': filter.partition is not supported (a projection reads its whole filter)`);
  }
  limits.checkFilter(options.filter);
  const batchSize = positive(name, 'batchSize', options.batchSize ?? 100);
  if (batchSize > limits.maxPageSize) {
    throw new InvalidArgumentError(`Projection '${name}': batchSize must be at most ${limits.maxPageSize}`);
  }
  return {
    name,
    handler,
    tables: checkTables(name, handler.tables),
    filter: JSON.parse(JSON.stringify(options.filter ?? {})) as AllFilter,
    batchSize,
    pollIntervalMs: positive(name, 'pollIntervalMs', options.pollIntervalMs ?? 1_000),
    timeoutMs: options.timeoutMs === undefined ? undefined : positive(name, 'timeoutMs', options.timeoutMs),
    retry: {
      maxAttempts: positive(name, 'retry.maxAttempts', options.retry?.maxAttempts ?? 5),
      initialDelayMs: positive(name, 'retry.initialDelayMs', options.retry?.initialDelayMs ?? 100),
      maxDelayMs: positive(name, 'retry.maxDelayMs', options.retry?.maxDelayMs ?? 5_000),
    },
    label,
  };
}

function positive(projection: string, option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`Projection '${projection}': ${option} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
