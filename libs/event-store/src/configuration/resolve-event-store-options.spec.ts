import { resolveEventStoreOptions } from './resolve-event-store-options.js';

describe('resolveEventStoreOptions', () => {
  it('applies every default in one place', () => {
    const options = resolveEventStoreOptions();
    expect(options).toMatchObject({
      connection: undefined,
      schema: 'public',
      statementTimeoutMs: 30_000,
      connectionTimeoutMs: 5_000,
      operationTimeoutMs: 60_000,
      retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 2_000 },
      migrations: 'run',
      createDatabase: true,
      maxAppendEvents: 10_000,
      maxPageSize: 10_000,
      defaultPageSize: 1_000,
      pooler: 'none',
      notifications: 'listen',
      notificationPollIntervalMs: 250,
    });
    expect(options.poolSize).toBeGreaterThanOrEqual(10);
    expect(options.embedded.dataDir).toMatch(/data\/postgres$/);
  });

  it('fills a connection from its host alone', () => {
    expect(resolveEventStoreOptions({ connection: { host: 'db' } }).connection).toEqual({
      host: 'db',
      port: 5432,
      user: 'postgres',
      password: 'postgres',
      database: 'game_bot_eventstore',
      ssl: undefined,
    });
  });

  it('keeps the default page within the maximum page, and refuses a default above it', () => {
    expect(resolveEventStoreOptions({ maxPageSize: 500 }).defaultPageSize).toBe(500);
    expect(() => resolveEventStoreOptions({ maxPageSize: 500, defaultPageSize: 600 })).toThrow(/must not exceed maxPageSize/);
  });

  it('refuses a schema that is not a plain name, and non-positive sizes', () => {
    expect(() => resolveEventStoreOptions({ schema: 'a"b' })).toThrow(/not a plain PostgreSQL name/);
    expect(() => resolveEventStoreOptions({ poolSize: 0 })).toThrow(/poolSize must be a positive integer/);
    expect(() => resolveEventStoreOptions({ retry: { maxAttempts: 1.5 } })).toThrow(/retry.maxAttempts/);
  });

  it('polls for notifications behind a pooler in transaction mode, and refuses LISTEN there', () => {
    expect(resolveEventStoreOptions({ pooler: 'transaction' })).toMatchObject({ pooler: 'transaction', notifications: 'poll' });
    expect(resolveEventStoreOptions({ notifications: 'poll', notificationPollIntervalMs: 100 })).toMatchObject({
      pooler: 'none',
      notifications: 'poll',
      notificationPollIntervalMs: 100,
    });
    expect(() => resolveEventStoreOptions({ pooler: 'transaction', notifications: 'listen' })).toThrow(/cannot work behind a pooler/);
    expect(() => resolveEventStoreOptions({ notificationPollIntervalMs: 0 })).toThrow(/notificationPollIntervalMs/);
  });
});
