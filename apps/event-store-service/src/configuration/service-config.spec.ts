import { ConfigurationError, loadServiceConfig } from './service-config.js';

describe('loadServiceConfig', () => {
  it('applies the documented defaults: embedded PostgreSQL, port 3000, schema public, migrations at boot', () => {
    const config = loadServiceConfig({});
    expect(config).toMatchObject({
      environment: 'development',
      httpPort: 3000,
      eventStore: {
        connection: undefined,
        embedded: { dataDir: './data/postgres', port: 0 },
        schema: 'public',
        migrations: 'run',
        statementTimeoutMs: 30_000,
      },
    });
  });

  it('builds the connection from EVENT_STORE_* when EVENT_STORE_HOST is set', () => {
    const config = loadServiceConfig({
      EVENT_STORE_HOST: 'db.internal',
      EVENT_STORE_PORT: '6432',
      EVENT_STORE_USER: 'bot',
      EVENT_STORE_PASS: 'secret',
      EVENT_STORE_DB: 'games',
      EVENT_STORE_SCHEMA: 'tenant_7',
      EVENT_STORE_POOL_SIZE: '20',
      EVENT_STORE_SSL: 'true',
    });
    expect(config.eventStore).toMatchObject({
      connection: { host: 'db.internal', port: 6432, user: 'bot', password: 'secret', database: 'games', ssl: true },
      schema: 'tenant_7',
      poolSize: 20,
    });
  });

  it.each([
    ['EVENT_STORE_PORT', 'abc', /EVENT_STORE_PORT must be an integer from 1 to 65535 \(got 'abc'\)/],
    ['EVENT_STORE_PORT', '70000', /EVENT_STORE_PORT must be an integer/],
    ['PORT', '-1', /PORT must be an integer/],
    ['EVENT_STORE_POOL_SIZE', '0', /EVENT_STORE_POOL_SIZE must be an integer from 1 to 1000/],
    ['EVENT_STORE_SCHEMA', 'Bad-Schema', /EVENT_STORE_SCHEMA must be a lower-case PostgreSQL name/],
    ['EVENT_STORE_SSL', 'maybe', /EVENT_STORE_SSL must be true or false/],
    ['NODE_ENV', 'staging', /NODE_ENV must be development, test or production/],
    ['EVENT_STORE_MIGRATIONS', 'later', /EVENT_STORE_MIGRATIONS must be run, check or skip/],
    ['EVENT_STORE_STATEMENT_TIMEOUT_MS', '1.5', /EVENT_STORE_STATEMENT_TIMEOUT_MS must be a positive integer/],
  ])('refuses %s=%s with one line naming the variable', (name, value, message) => {
    const error = captureError(() => loadServiceConfig({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('accepts OTLP endpoints whose host name has an underscore (a Docker Compose service), and refuses what is no http(s) URL', () => {
    expect(loadServiceConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel_collector:4318' }).tracing.otlpTracesUrl).toBe(
      'http://otel_collector:4318/v1/traces',
    );
    expect(
      loadServiceConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel_collector.internal/v1/traces' }).tracing.otlpTracesUrl,
    ).toBe('https://otel_collector.internal/v1/traces');
    for (const value of ['otel-collector:4318', 'ftp://otel-collector:4318', 'not a url', '//otel-collector:4318']) {
      for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
        const error = captureError(() => loadServiceConfig({ [name]: value }));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error.message).toMatch(
          new RegExp(`^Invalid configuration: ${name} must be an http\\(s\\) URL, e\\.g\\. http://localhost:4318`),
        );
        expect(error.message).not.toContain('\n');
      }
    }
  });

  it('accepts OTEL_EXPORTER_OTLP_PROTOCOL and OTEL_EXPORTER_OTLP_TRACES_PROTOCOL only unset or http/json', () => {
    expect(
      loadServiceConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).tracing,
    ).toBeDefined();
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
      for (const value of ['grpc', 'http/protobuf']) {
        const error = captureError(() => loadServiceConfig({ OTEL_TRACES_EXPORTER: 'otlp', [name]: value }));
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error.message).toBe(
          `Invalid configuration: ${name} must be http/json, the only OTLP protocol supported: unset it or set http/json (got '${value}')`,
        );
      }
    }
  });

  it('turns tracing off with OTEL_SDK_DISABLED=true whatever OTEL_TRACES_EXPORTER says', () => {
    expect(loadServiceConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.exporter).toBe('otlp');
    expect(loadServiceConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).tracing.exporter).toBe('none');
    expect(loadServiceConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: '1' }).tracing.exporter).toBe('none');
    expect(loadServiceConfig({ OTEL_TRACES_EXPORTER: 'console', OTEL_SDK_DISABLED: 'false' }).tracing.exporter).toBe('console');
    expect(() => loadServiceConfig({ OTEL_SDK_DISABLED: 'yes' })).toThrow(/OTEL_SDK_DISABLED must be true or false \(got 'yes'\)/);
  });

  it('treats empty variables as unset', () => {
    expect(loadServiceConfig({ EVENT_STORE_HOST: '', PORT: '' }).eventStore.connection).toBeUndefined();
  });

  const TOKENS = 'reader-token-0123456789:read,writer-token-0123456789:write';

  it('refuses the embedded database in production unless explicitly allowed', () => {
    expect(() => loadServiceConfig({ NODE_ENV: 'production', EVENT_STORE_TOKENS: TOKENS })).toThrow(
      /EVENT_STORE_HOST is unset in production/,
    );
    const allowed = loadServiceConfig({ NODE_ENV: 'production', EVENT_STORE_ALLOW_EMBEDDED: 'true', EVENT_STORE_TOKENS: TOKENS });
    expect(allowed.eventStore.connection).toBeUndefined();
  });

  it('refuses production without access tokens unless explicitly allowed, and malformed tokens anywhere', () => {
    expect(() => loadServiceConfig({ NODE_ENV: 'production', EVENT_STORE_HOST: 'db' })).toThrow(
      /EVENT_STORE_TOKENS is unset in production/,
    );
    expect(loadServiceConfig({ NODE_ENV: 'production', EVENT_STORE_HOST: 'db', EVENT_STORE_ALLOW_NO_AUTH: 'true' }).auth.tokens).toEqual(
      [],
    );
    expect(loadServiceConfig({ EVENT_STORE_TOKENS: TOKENS }).auth.tokens).toEqual([
      { token: 'reader-token-0123456789', role: 'read' },
      { token: 'writer-token-0123456789', role: 'write' },
    ]);
    expect(() => loadServiceConfig({ EVENT_STORE_TOKENS: 'short:read' })).toThrow(/EVENT_STORE_TOKENS entry 1 must be token:role/);
    expect(() => loadServiceConfig({ EVENT_STORE_TOKENS: 'long-enough-token-123:owner' })).toThrow(/the role read, write or admin/);
  });

  it('in production checks migrations instead of applying them, unless told to', () => {
    const production = { NODE_ENV: 'production', EVENT_STORE_HOST: 'db', EVENT_STORE_TOKENS: TOKENS };
    expect(loadServiceConfig(production).eventStore.migrations).toBe('check');
    expect(loadServiceConfig({ ...production, EVENT_STORE_MIGRATIONS: 'run' }).eventStore.migrations).toBe('run');
  });

  it('passes the pooler and the notification mode on, and refuses LISTEN behind a transaction pooler', () => {
    const behindPgBouncer = { EVENT_STORE_HOST: 'pgbouncer', EVENT_STORE_POOLER: 'transaction' };
    expect(loadServiceConfig(behindPgBouncer).eventStore).toMatchObject({ pooler: 'transaction', notificationPollIntervalMs: 250 });
    expect(loadServiceConfig({ EVENT_STORE_NOTIFICATIONS: 'poll' }).eventStore).toMatchObject({ pooler: 'none', notifications: 'poll' });
    expect(() => loadServiceConfig({ ...behindPgBouncer, EVENT_STORE_NOTIFICATIONS: 'listen' })).toThrow(
      /EVENT_STORE_NOTIFICATIONS=listen cannot work behind a pooler in transaction mode/,
    );
    expect(() => loadServiceConfig({ EVENT_STORE_POOLER: 'session' })).toThrow(/EVENT_STORE_POOLER must be none or transaction/);
  });
});

function captureError(work: () => unknown): Error {
  try {
    work();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
