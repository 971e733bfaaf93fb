import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { EventStore, EventStoreModule, type PostgresConnectionOptions } from '@game-bot/event-store';
import { EmbeddedPostgresServer } from '@game-bot/event-store/internal';
import { TypedGuessProcessed } from './bench-events.js';
import { describeError } from './harness.js';
import { createRawTable } from './targets.js';

/** The database the benchmark uses, so that it never touches a real store's. */
export const BENCH_DATABASE = 'game_bot_eventstore_bench';
/** Connections of the store's pool and of the raw pool: one per writer of the busiest scenario. */
export const POOL_SIZE = 32;
const EMBEDDED_DATA_DIR = 'data/bench-postgres';

/** Where the benchmark runs. */
export interface ServerInfo {
  kind: 'embedded' | 'external';
  address: string;
  /** `SELECT version()`. */
  version: string;
  /** The server settings that weigh most on the results, as `name=value` pairs. */
  settings: string;
}

/** Host, port, credentials and database of the server the benchmark runs on. */
export type BenchConnection = Required<Omit<PostgresConnectionOptions, 'ssl'>>;

/** The store (in a fresh schema) and a raw pool (with its own fresh schema) on one server. */
export interface BenchEnvironment {
  store: EventStore;
  raw: pg.Pool;
  storeSchema: string;
  rawSchema: string;
  server: ServerInfo;
  /** How to reach the server and the benchmark's database, e.g. for a service started beside the bench. */
  connection: BenchConnection;
  /**
   * A second store on the same schema, booted like another process of the service would be (its
   * own pool and notification listener): subscribers there hear of appends only through PostgreSQL.
   */
  openPeer(): Promise<EventStore>;
  /**
   * A store on `schema` (pool of {@link POOL_SIZE}), closed and its schema dropped by `close()`;
   * the caller must have stopped anything else connected to that schema by then.
   */
  openStoreIn(schema: string): Promise<EventStore>;
  /**
   * A store on a schema of its own for one section's data (pool of {@link POOL_SIZE}); its
   * `close()` closes it and drops the schema at once (`close()` of the environment does, if not).
   */
  openScratchStore(schema: string): Promise<ScratchStore>;
  /**
   * An application of its own on `schema` (which some other store of the environment owns), booted
   * like a host application with `providers` beside the store (e.g. `@Projection` providers, which
   * start once it has booted). `close()` of the environment closes it if its own `close()` was not called.
   */
  openAppOn(schema: string, providers: Provider[]): Promise<BenchApp>;
  /** Closes the stores, drops both schemas, ends the raw pool and stops the embedded server. */
  close(): Promise<void>;
}

/** A store on a schema that lives for one section of the run. */
export interface ScratchStore {
  store: EventStore;
  schema: string;
  /** Closes the store and drops its schema. */
  close(): Promise<void>;
}

/** An application booted beside the environment's stores. */
export interface BenchApp {
  app: INestApplicationContext;
  store: EventStore;
  /** Closes the application (its projections stop, its pool ends); the schema stays. */
  close(): Promise<void>;
}

interface Parts {
  embedded?: EmbeddedPostgresServer;
  app?: INestApplicationContext;
  peers: INestApplicationContext[];
  raw?: pg.Pool;
  schemas: string[];
}

/** Starts or reaches the server, boots the store and prepares the raw table. */
export async function openEnvironment(log: (line: string) => void): Promise<BenchEnvironment> {
  const storeSchema = `bench_${randomBytes(4).toString('hex')}`;
  const rawSchema = `${storeSchema}_raw`;
  const parts: Parts = { schemas: [], peers: [] };
  try {
    const { connection, kind } = await reachServer(parts, log);
    parts.schemas.push(storeSchema);
    parts.app = await bootStore(connection, storeSchema);
    parts.raw = new pg.Pool({ ...connection, max: POOL_SIZE, application_name: 'event-store-bench-raw' });
    // An idle connection the server ends (e.g. at the embedded server's shutdown) must not crash the run.
    parts.raw.on('error', (error) => log(`raw pool: ${describeError(error)}`));
    parts.schemas.push(rawSchema);
    await createRawTable(parts.raw, rawSchema);
    const address = `${connection.host}:${connection.port}/${BENCH_DATABASE}`;
    const server: ServerInfo = { kind, address, ...(await describeSettings(parts.raw)) };
    const store = parts.app.get(EventStore);
    const openPeer = async (): Promise<EventStore> => {
      const peer = await bootStore(connection, storeSchema);
      parts.peers.push(peer);
      return peer.get(EventStore);
    };
    const bootIn = async (schema: string): Promise<INestApplicationContext> => {
      parts.schemas.push(schema);
      const other = await bootStore(connection, schema);
      parts.peers.push(other);
      return other;
    };
    const openStoreIn = async (schema: string): Promise<EventStore> => (await bootIn(schema)).get(EventStore);
    const openScratchStore = async (schema: string): Promise<ScratchStore> => {
      const app = await bootIn(schema);
      const closeScratch = async (): Promise<void> => {
        parts.peers = parts.peers.filter((peer) => peer !== app);
        try {
          await app.close();
        } finally {
          await parts.raw!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          parts.schemas = parts.schemas.filter((name) => name !== schema);
        }
      };
      return { store: app.get(EventStore), schema, close: closeScratch };
    };
    const openAppOn = async (schema: string, providers: Provider[]): Promise<BenchApp> => {
      const app = await bootStore(connection, schema, providers);
      parts.peers.push(app);
      const closeApp = async (): Promise<void> => {
        parts.peers = parts.peers.filter((peer) => peer !== app);
        await app.close();
      };
      return { app, store: app.get(EventStore), close: closeApp };
    };
    const close = () => closeParts(parts, log);
    return {
      store,
      raw: parts.raw,
      storeSchema,
      rawSchema,
      server,
      connection,
      openPeer,
      openStoreIn,
      openScratchStore,
      openAppOn,
      close,
    };
  } catch (error) {
    await closeParts(parts, log);
    throw error;
  }
}

/** `EVENT_STORE_HOST` (and friends) when set, otherwise an embedded server started here. */
async function reachServer(parts: Parts, log: (line: string) => void): Promise<{ connection: BenchConnection; kind: ServerInfo['kind'] }> {
  const host = process.env.EVENT_STORE_HOST;
  if (host) {
    const connection = {
      host,
      port: Number(process.env.EVENT_STORE_PORT ?? 5432),
      user: process.env.EVENT_STORE_USER ?? 'postgres',
      password: process.env.EVENT_STORE_PASS ?? 'postgres',
      database: BENCH_DATABASE,
    };
    return { connection, kind: 'external' };
  }
  log(`starting the embedded PostgreSQL (data in ${EMBEDDED_DATA_DIR})...`);
  parts.embedded = new EmbeddedPostgresServer({ dataDir: EMBEDDED_DATA_DIR, port: 0 });
  const started = await parts.embedded.start();
  return { connection: { ...started, database: BENCH_DATABASE }, kind: 'embedded' };
}

/**
 * Boots `EventStoreModule` the way a host application would (it creates the database if missing),
 * with the host's own `providers` beside it, if any.
 */
async function bootStore(
  connection: PostgresConnectionOptions,
  schema: string,
  providers: Provider[] = [],
): Promise<INestApplicationContext> {
  const store = EventStoreModule.forRoot({ connection, schema, poolSize: POOL_SIZE, applicationName: 'event-store-bench' });
  const events = EventStoreModule.forFeature([TypedGuessProcessed]);
  return NestFactory.createApplicationContext(BenchModule.with([store, events], providers), {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
}

/** The benchmark's application: the store, its one registered event type, and any providers of a scenario. */
@Module({})
class BenchModule {
  static with(imports: DynamicModule[], providers: Provider[]): DynamicModule {
    return { module: BenchModule, imports, providers };
  }
}

const SETTINGS = ['fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections'];

async function describeSettings(pool: pg.Pool): Promise<Pick<ServerInfo, 'version' | 'settings'>> {
  const version = await pool.query<{ version: string }>('SELECT version()');
  const settings = await pool.query<{ name: string; value: string }>(
    'SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1) ORDER BY name',
    [SETTINGS],
  );
  return {
    version: version.rows[0]!.version,
    settings: settings.rows.map(({ name, value }) => `${name}=${value}`).join(', '),
  };
}

async function closeParts(parts: Parts, log: (line: string) => void): Promise<void> {
  for (const peer of parts.peers) {
    await attempt('close a peer store', log, () => peer.close());
  }
  await attempt('close the store', log, () => parts.app?.close());
  for (const schema of parts.schemas) {
    await attempt(`drop schema ${schema}`, log, () => parts.raw?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  }
  await attempt('end the raw pool', log, () => parts.raw?.end());
  await attempt('stop the embedded PostgreSQL', log, () => parts.embedded?.stop());
}

async function attempt(what: string, log: (line: string) => void, work: () => Promise<unknown> | undefined): Promise<void> {
  try {
    await work();
  } catch (error) {
    log(`could not ${what}: ${describeError(error)}`);
  }
}
