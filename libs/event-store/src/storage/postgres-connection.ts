import pg from 'pg';
import type { ResolvedConnectionOptions } from '../configuration/resolve-event-store-options.js';

/** `"name"`: a PostgreSQL identifier quoted for SQL text. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Where a connection goes, for messages (never the password). */
export function describeServer(connection: ResolvedConnectionOptions): string {
  return `${connection.user}@${connection.host}:${connection.port}/${connection.database}`;
}

/** The connection fields of a TypeORM PostgreSQL data source. */
export function dataSourceConnection(connection: Omit<ResolvedConnectionOptions, 'ssl'> & { ssl?: unknown }): {
  type: 'postgres';
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
  ssl?: boolean;
} {
  return {
    type: 'postgres',
    host: connection.host,
    port: connection.port,
    username: connection.user,
    password: connection.password,
    database: connection.database,
    ssl: connection.ssl as boolean | undefined,
  };
}

/** node-postgres settings for one of the store's connections. */
export function clientConfig(
  connection: ResolvedConnectionOptions,
  settings: { connectionTimeoutMs: number; applicationName: string; database?: string },
): pg.ClientConfig {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password,
    database: settings.database ?? connection.database,
    ssl: connection.ssl,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    application_name: settings.applicationName,
    keepAlive: true,
  };
}

/** Opens one client, runs `work` on it, and always closes it. */
export async function withClient<T>(config: pg.ClientConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
