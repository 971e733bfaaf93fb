import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { ProjectionTables } from './projection-handler.js';

/** A lower-case SQL identifier: used in SQL text as it is, so nothing that would need quoting. */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** Room for a rebuild's `__r<generation>` and PostgreSQL's own suffixes within its 63 bytes. */
const MAX_TABLE_LENGTH = 50;

/** A table name split into its schema (if given) and the table itself. */
export interface TableName {
  schema: string | undefined;
  table: string;
}

/** Splits `schema.table` (or `table`). */
export function splitTableName(name: string): TableName {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: undefined, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Refuses a `tables` map that is empty, or whose names are not plain identifiers or repeat. */
export function checkTables(projection: string, tables: unknown): ProjectionTables {
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables) || Object.keys(tables).length === 0) {
    throw new InvalidArgumentError(
      `Projection '${projection}' needs a 'tables' property: logical name → table name, e.g. { scores: 'leaderboard_scores' }`,
    );
  }
  const seen = new Set<string>();
  for (const [logical, name] of Object.entries(tables)) {
    const parts = typeof name === 'string' ? name.split('.') : [];
    const valid = parts.length >= 1 && parts.length <= 2 && parts.every((part) => IDENTIFIER.test(part));
    if (!valid || parts.at(-1)!.length > MAX_TABLE_LENGTH || parts[0]!.length > 63) {
      throw new InvalidArgumentError(
        `Projection '${projection}': tables.${logical} must be 'table' or 'schema.table' in lower-case letters, digits and _, the table at most ${MAX_TABLE_LENGTH} characters`,
        { [`tables.${logical}`]: name },
      );
    }
    if (seen.has(name as string)) {
      throw new InvalidArgumentError(`Projection '${projection}': table ${String(name)} is named twice`, { tables });
    }
    seen.add(name as string);
  }
  return { ...(tables as ProjectionTables) };
}

/** The tables of a rebuild's generation: each beside its real one, as `<table>__r<generation>`. */
export function generationTables(tables: ProjectionTables, generation: number): ProjectionTables {
  return Object.fromEntries(Object.entries(tables).map(([logical, name]) => [logical, `${name}__r${generation}`]));
}

/** Whether two table maps name the same tables for the same logical names. */
export function sameTables(a: ProjectionTables, b: ProjectionTables): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
