import type { ValidationError } from 'class-validator';

/** One failing field of a payload. */
export interface FieldFailure {
  /** Dotted path of the field, e.g. `board.rows.0`. */
  property: string;
  /** Failed constraints and their messages, e.g. `{ isString: 'guess must be a string' }`. */
  constraints: Record<string, string>;
}

/** Every failing field of a class-validator result, nested ones included, with dotted paths. */
export function fieldFailures(errors: ValidationError[], prefix = ''): FieldFailure[] {
  return errors.flatMap((error) => {
    const property = `${prefix}${error.property}`;
    const own = error.constraints ? [{ property, constraints: error.constraints }] : [];
    return [...own, ...fieldFailures(error.children ?? [], `${property}.`)];
  });
}

/** The failures as one readable line. */
export function describeFailures(failures: FieldFailure[]): string {
  return failures.flatMap((failure) => Object.values(failure.constraints)).join('; ');
}
