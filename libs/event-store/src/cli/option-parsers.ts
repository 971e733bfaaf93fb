import { InvalidArgumentError } from 'commander';

/** A commander parser of an integer option of at least `min`. */
export function integerOption(min: number): (text: string) => number {
  return (text) => {
    const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min) throw new InvalidArgumentError(`must be an integer >= ${min}`);
    return value;
  };
}

/** A commander parser of a comma-separated list (`a,b`), without empty items. */
export function listOption(text: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new InvalidArgumentError('must be a comma-separated list without empty items');
  return items;
}
