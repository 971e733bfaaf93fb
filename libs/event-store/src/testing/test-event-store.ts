import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type INestApplicationContext,
  Logger,
  type ModuleMetadata,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { EventStoreModuleOptions } from '../configuration/event-store-options.interface.js';
import { resolveEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreModule } from '../event-store.module.js';
import { EventStore } from '../event-store.service.js';
import { quoteIdentifier } from '../storage/postgres-connection.js';
import { EventStoreConnection } from '../storage/event-store-connection.js';
import { testConnectionFromEnvironment } from './test-database.js';

/** Options of {@link createTestEventStore}. */
export interface TestEventStoreOptions {
  /** Options of `EventStoreModule.forRoot`; `schema` defaults to a fresh one, `connection` to {@link testConnectionFromEnvironment}. */
  store?: EventStoreModuleOptions;
  /** Further modules of the app under test (e.g. `EventStoreModule.forFeature([...])`, feature modules). */
  imports?: ModuleMetadata['imports'];
  /** Further providers (e.g. a provider with `@SubscribeTo` handlers). */
  providers?: ModuleMetadata['providers'];
  /** Prefix of the fresh schema's name, for finding it while debugging. Default `test`. */
  label?: string;
}

/** A throw-away store: an app context on a fresh schema, dropped by `close`. */
export interface TestEventStore {
  store: EventStore;
  /** The app context, to `get` the app's own providers. */
  app: INestApplicationContext;
  /** The fresh schema the store lives in. */
  schema: string;
  /** Where the store's database is. */
  connection: EventStoreConnection;
  /**
   * Closes the app (subscriptions stopped, pool closed) and drops the schema, if it is the test's
   * own: a generated one, or one named like them (`t_...`, see {@link uniqueSchemaName}); any
   * other schema given in `store.schema` is kept. `app.close()` alone always keeps it.
   */
  close(): Promise<void>;
}

/** A schema name that no other test uses: `<label>_<random>`. */
export function uniqueSchemaName(label = 'test'): string {
  return `t_${label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
}

/**
 * Boots `EventStoreModule` in a fresh schema, the way the host app would, with the app's own
 * modules beside it; `close()` drops the schema again, so tests can run in parallel on one server.
 * The server is the one named by `EVENT_STORE_HOST` (see {@link startTestDatabase} for a global
 * set-up that starts an embedded one), or the `connection` given in `store`.
 *
 * @example
 * let t: TestEventStore;
 * beforeAll(async () => (t = await createTestEventStore({ imports: [EventStoreModule.forFeature([GameStarted])] })));
 * afterAll(() => t.close());
 *
 * it('appends', async () => {
 *   await t.store.appendToStream('game-1', 'no_stream', [new GameStarted('crane')]);
 * });
 */
export async function createTestEventStore(options: TestEventStoreOptions = {}): Promise<TestEventStore> {
  const schema = options.store?.schema ?? uniqueSchemaName(options.label);
  // A `connection` given as `undefined` asks for the embedded server; none given, for the environment's.
  const connection = options.store && 'connection' in options.store ? options.store.connection : testConnectionFromEnvironment();
  const moduleRef = await Test.createTestingModule({
    imports: [EventStoreModule.forRoot({ ...options.store, connection, schema }), ...(options.imports ?? [])],
    providers: [TestSchemaDropper, ...(options.providers ?? [])],
  }).compile();
  const disposable = options.store?.schema === undefined || schema.startsWith('t_');
  // compile() has opened the database: an init that fails (e.g. a bad event registration) closes it again.
  const app = await moduleRef.init().catch(async (error: unknown) => {
    await moduleRef.close();
    const server = resolveEventStoreOptions({ connection }).connection;
    if (disposable && server !== undefined) {
      await dropSchema({ ...server, schema }, new Logger(TestSchemaDropper.name));
    }
    throw error;
  });
  const details = app.get(EventStoreConnection);
  return {
    store: app.get(EventStore),
    app,
    schema,
    connection: details,
    close: async () => {
      if (!disposable) {
        return app.close();
      }
      if (details.embedded) {
        // The server stops with the app: drop the schema on the way down.
        app.get(TestSchemaDropper).armed = true;
        return app.close();
      }
      // After the app's own shutdown hooks, every one of which may still use the schema.
      await app.close();
      await dropSchema(details, new Logger(TestSchemaDropper.name));
    },
  };
}

/**
 * Drops the schema of a test store on the embedded server it runs on, when `close()` shuts the
 * app down: after the subscriptions have stopped (`onModuleDestroy`) and before the pool closes
 * and the server stops (`onApplicationShutdown`).
 */
@Injectable()
class TestSchemaDropper implements BeforeApplicationShutdown {
  private readonly logger = new Logger(TestSchemaDropper.name);
  /** Set by `close()`: a plain `app.close()` keeps the schema (a test may reopen it). */
  armed = false;

  constructor(@Inject(EventStoreConnection) private readonly connection: EventStoreConnection) {}

  async beforeApplicationShutdown(): Promise<void> {
    if (this.armed) {
      await dropSchema(this.connection, this.logger);
    }
  }
}

/** Drops a test's schema; a database that is gone (a test stopped it on purpose) is only logged. */
async function dropSchema(
  connection: Pick<EventStoreConnection, 'host' | 'port' | 'user' | 'password' | 'database' | 'ssl' | 'schema'>,
  logger: Logger,
): Promise<void> {
  const client = new pg.Client({ ...connection, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(connection.schema)} CASCADE`);
  } catch (error) {
    logger.warn(`Could not drop test schema ${connection.schema}: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
