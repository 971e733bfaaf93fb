import 'reflect-metadata';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import type { EventStoreModuleOptions } from '@game-bot/event-store';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { AppModule } from '../../apps/event-store-service/src/app.module.js';
import { loadServiceConfig } from '../../apps/event-store-service/src/configuration/service-config.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttp } from '../../apps/event-store-service/src/http/configure-http.js';
import { createHttpAdapter } from '../../apps/event-store-service/src/http/http-adapter.js';
import { TcpProxy } from './tcp-proxy.js';
import { testConnection, testDatabaseEnv } from './test-database.js';
import { uniqueSchema } from './test-store.js';

/**
 * The key that encrypts webhook secrets in the services the tests boot (`WEBHOOK_SECRETS_KEY`):
 * one for every test, so that instances sharing a schema read each other's webhooks.
 */
export const TEST_WEBHOOK_SECRETS_KEY = 'd8d1b9c4a7e2f3061952b6e0c4d7a8f1e2b3c4d5a6f708192a3b4c5d6e7f8091';

/** The service, booted in-process on the test database in a schema of its own. */
export interface TestApp {
  app: INestApplication;
  http: ReturnType<INestApplication['getHttpServer']>;
  /** The store's schema (dropped by `close`). */
  schema: string;
  close(): Promise<void>;
}

/** What a test adds to the service: modules of its own (event types), store options `env` cannot set. */
export interface TestAppExtras {
  imports?: NonNullable<ModuleMetadata['imports']>;
  eventStore?: Partial<EventStoreModuleOptions>;
}

/** Boots the service's AppModule as `main.ts` does, on the test server, with `env` on top. */
export async function createTestApp(env: Record<string, string> = {}, label = 'http', extras: TestAppExtras = {}): Promise<TestApp> {
  const connection = testConnection();
  // Instances sharing a store name its schema in `env`: that is the one `close` drops.
  const schema = env.EVENT_STORE_SCHEMA ?? uniqueSchema(label);
  const config = loadServiceConfig({
    NODE_ENV: 'test',
    WEBHOOK_SECRETS_KEY: TEST_WEBHOOK_SECRETS_KEY,
    ...testDatabaseEnv(schema),
    ...env,
  });
  config.eventStore = { ...config.eventStore, ...extras.eventStore };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config), ...(extras.imports ?? [])] }).compile();
  const app = moduleRef.createNestApplication<NestFastifyApplication>(createHttpAdapter(config), {
    logger: ['error'],
    return503OnClosing: true,
  });
  configureHttp(app, config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: app.getHttpServer(),
    schema,
    async close() {
      await app.close();
      const sql = new pg.Pool({ ...connection, max: 1 });
      await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    },
  };
}

/** The service with a TCP proxy between it and the test server, for the test to cut or slow down. */
export interface ProxiedTestApp extends TestApp {
  proxy: TcpProxy;
}

/** Boots the service through a fresh {@link TcpProxy}; `close` restores and closes the proxy too. */
export async function createTestAppBehindProxy(env: Record<string, string>, label: string): Promise<ProxiedTestApp> {
  const target = testConnection();
  const proxy = new TcpProxy({ host: target.host!, port: target.port! });
  await proxy.start();
  const t = await createTestApp({ EVENT_STORE_HOST: '127.0.0.1', EVENT_STORE_PORT: String(proxy.port), ...env }, label);
  return {
    ...t,
    proxy,
    async close() {
      await proxy.restore();
      await t.close();
      await proxy.close();
    },
  };
}
