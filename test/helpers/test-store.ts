import 'reflect-metadata';
import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  EventStore,
  EventStoreModule,
  type EventStoreModuleOptions,
} from '../../libs/event-store/src/index.js';
import { testConnection } from './test-database.js';

/** A store in a fresh schema of the test database, with a raw pool for checks behind its back. */
export interface TestStore {
  store: EventStore;
  app: INestApplicationContext;
  schema: string;
  /** A plain pool on the test database, for the checks and tampering a user could not do. */
  sql: pg.Pool;
  /**
   * Waits until every committed event is visible to $all readers. $all shows a transaction's events
   * only once every older transaction in the cluster has ended (docs/design.md); test files run in
   * parallel on one server, so another file's open transaction can hold a read back for a moment.
   */
  allVisible(): Promise<void>;
  /** Closes the app, drops the schema and closes the raw pool. */
  close(): Promise<void>;
}

/** A schema name no other test file uses. */
export function uniqueSchema(label = 'test'): string {
  return `t_${label.replace(/[^a-z0-9_]/g, '_').slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/**
 * Boots `EventStoreModule` the way a host app would, in a schema of its own; `imports` are further
 * modules of the app (e.g. `EventStoreModule.forFeature([...])`).
 */
export async function createTestStore(
  options: EventStoreModuleOptions = {},
  label?: string,
  imports: NonNullable<ModuleMetadata['imports']> = [],
): Promise<TestStore> {
  const schema = options.schema ?? uniqueSchema(label);
  const moduleRef = await Test.createTestingModule({
    imports: [EventStoreModule.forRoot({ connection: testConnection(), ...options, schema }), ...imports],
  }).compile();
  // compile() has opened the database; a failing init (e.g. a bad event registration) must close it.
  const app = await moduleRef.init().catch(async (error: unknown) => {
    await moduleRef.close();
    throw error;
  });
  const sql = new pg.Pool({ ...testConnection(), max: 4 });
  return {
    store: app.get(EventStore),
    app,
    schema,
    sql,
    allVisible: () => waitUntilAllVisible(sql, schema),
    async close() {
      await app.close();
      await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    },
  };
}

async function waitUntilAllVisible(sql: pg.Pool, schema: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await sql.query<{ visible: boolean }>(
      `SELECT coalesce(max(transaction_id) < pg_snapshot_xmin(pg_current_snapshot()), true) AS visible FROM "${schema}".events`,
    );
    if (rows[0]!.visible) return;
    if (Date.now() > deadline) throw new Error(`events of ${schema} did not become visible to $all within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `n` events of one type, numbered in their data. */
export function someEvents(n: number, eventType = 'Tested', from = 0): Array<{ eventType: string; data: { n: number } }> {
  return Array.from({ length: n }, (_, index) => ({ eventType, data: { n: from + index } }));
}
