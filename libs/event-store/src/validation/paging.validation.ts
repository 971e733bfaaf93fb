import { InvalidArgumentError } from '../errors/invalid-argument.error.js';

/** Refuses a page size that is not an integer in 1..max; `undefined` gives the default. */
export function pageSize(value: unknown, defaultSize: number, max: number, name = 'maxCount'): number {
  if (value === undefined) {
    return Math.min(defaultSize, max);
  }
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new InvalidArgumentError(`${name} must be an integer from 1 to ${max}, got ${String(value)}`, { [name]: value });
  }
  return value as number;
}

/** Refuses a version or position that is not an integer >= `min`; `undefined` stays undefined. */
export function optionalInteger(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${String(value)}`, { [name]: value });
  }
  return value as number;
}
