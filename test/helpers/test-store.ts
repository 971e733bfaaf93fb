import 'reflect-metadata';
import type { INestApplicationContext, ModuleMetadata } from '@nestjs/common';
import { createTestEventStore, uniqueSchemaName } from '@game-bot/event-store/testing';
import pg from 'pg';
import type { EventStore, EventStoreModuleOptions } from '@game-bot/event-store';
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
  /** Closes the app (dropping the schema) and closes the raw pool. */
  close(): Promise<void>;
}

/** A schema name no other test file uses. */
export function uniqueSchema(label = 'test'): string {
  return uniqueSchemaName(label);
}

/**
 * Boots `EventStoreModule` the way a host app would, in a schema of its own (the library's
 * `createTestEventStore`); `imports` are further modules of the app (e.g.
 * `EventStoreModule.forFeature([...])`).
 */
export async function createTestStore(
  options: EventStoreModuleOptions = {},
  label?: string,
  imports: NonNullable<ModuleMetadata['imports']> = [],
): Promise<TestStore> {
  const store = 'connection' in options ? options : { ...options, connection: testConnection() };
  const t = await createTestEventStore({ store, imports, label });
  const sql = new pg.Pool({ ...testConnection(), max: 4 });
  return {
    store: t.store,
    app: t.app,
    schema: t.schema,
    sql,
    allVisible: () => waitUntilAllVisible(sql, t.schema),
    async close() {
      await t.close();
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

/**
 * Fresh streams of a test file in known states: `fresh()` names one never written, `existing(n)`
 * writes one at version `n`, `softDeleted()` one at version 2, soft-deleted.
 */
export function streamStates(t: () => TestStore, label: string) {
  let n = 0;
  const fresh = (): string => `${label}-${++n}`;
  const existing = async (version: number): Promise<string> => {
    const id = fresh();
    await t().store.appendToStream(id, 'no_stream', someEvents(version));
    return id;
  };
  const softDeleted = async (): Promise<string> => {
    const id = await existing(2);
    await t().store.deleteStream(id, 2);
    return id;
  };
  return { fresh, existing, softDeleted };
}
