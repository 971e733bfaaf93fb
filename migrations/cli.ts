import 'reflect-metadata';
import { withServiceMigrations } from '../apps/event-store-service/src/schema/service-schema.js';
import { loadServiceConfig, processEnvironment } from '../apps/event-store-service/src/configuration/service-config.js';
import { EventStoreDatabase, type MigrationRunner, resolveEventStoreOptions } from '@game-bot/event-store/internal';

const USAGE = 'usage: node dist/migrations/cli.js run | status | revert';

/**
 * `npm run migrate` (run), `npm run migrate:status`, `npm run migrate:revert`: the migrations of
 * the store and of the service, on the database the EVENT_STORE_* variables name (the embedded
 * one when unset). Safe to run while services start: migrations take the same advisory locks.
 * `revert` reverts the newest of the service's migrations, else the store's.
 */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'run' && command !== 'status' && command !== 'revert') {
    throw new Error(USAGE);
  }
  const config = loadServiceConfig(processEnvironment());
  const database = await EventStoreDatabase.open(resolveEventStoreOptions(config.eventStore), false);
  try {
    await commands[command](database.migrations(), database);
  } finally {
    await database.close();
  }
}

const commands = {
  async run(store: MigrationRunner, database: EventStoreDatabase): Promise<void> {
    const started = Date.now();
    const applied = [
      ...(await store.migrate((line) => console.log(line))),
      ...(await withServiceMigrations(database.connectionDetails(), (service) => service.migrate((line) => console.log(line)))),
    ];
    const schema = database.options.schema;
    console.log(
      applied.length === 0
        ? `Schema ${schema} is up to date`
        : `Applied ${applied.length} migration(s) to schema ${schema} in ${Date.now() - started} ms`,
    );
  },
  async status(store: MigrationRunner, database: EventStoreDatabase): Promise<void> {
    const service = await withServiceMigrations(database.connectionDetails(), (runner) => runner.status());
    const own = await store.status();
    const applied = [...own.applied, ...service.applied];
    const pending = [...own.pending, ...service.pending];
    console.log(`Schema ${database.options.schema}:`);
    applied.forEach((name) => console.log(`  applied  ${name}`));
    pending.forEach((name) => console.log(`  pending  ${name}`));
    console.log(`${applied.length} applied, ${pending.length} pending`);
  },
  async revert(store: MigrationRunner, database: EventStoreDatabase): Promise<void> {
    const reverted =
      (await withServiceMigrations(database.connectionDetails(), (service) => service.revertLast())) ?? (await store.revertLast());
    console.log(reverted === undefined ? 'Nothing to revert' : `Reverted ${reverted}`);
  },
};

main(process.argv[2]).catch((error: unknown) => {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
