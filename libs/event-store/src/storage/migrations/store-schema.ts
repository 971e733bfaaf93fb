import type { QueryRunner } from 'typeorm';

/** The quoted name of the schema the migration runs in (the data source's `schema` option). */
export function storeSchema(queryRunner: QueryRunner): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
  return `"${schema.replace(/"/g, '""')}"`;
}
