import type { ResolvedConnectionOptions } from '../configuration/resolve-event-store-options.js';
import { clientConfig, describeServer, quoteIdentifier, withClient } from './postgres-connection.js';

const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Creates the store's database when it does not exist. Several processes may race here: the losers'
 * "already exists" errors are expected and ignored.
 */
export async function ensureDatabase(
  connection: ResolvedConnectionOptions,
  settings: { connectionTimeoutMs: number; applicationName: string },
): Promise<void> {
  try {
    await withClient(clientConfig(connection, settings), async () => undefined);
    return;
  } catch (error) {
    if (sqlState(error) !== INVALID_CATALOG_NAME) {
      throw error;
    }
  }
  const maintenance = clientConfig(connection, { ...settings, database: 'postgres' });
  try {
    await withClient(maintenance, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(connection.database)} ENCODING 'UTF8'`));
  } catch (error) {
    const state = sqlState(error);
    if (state === DUPLICATE_DATABASE || state === UNIQUE_VIOLATION) {
      return;
    }
    if (state === INSUFFICIENT_PRIVILEGE) {
      throw new Error(
        `Database '${connection.database}' does not exist and ${describeServer(connection)} may not create it: create it, or grant CREATEDB`,
        { cause: error },
      );
    }
    throw error;
  }
}

function sqlState(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}
