import 'reflect-metadata';
import { loadServiceConfig, processEnvironment } from '../apps/event-store-service/src/configuration/service-config.js';
import { EventStoreDatabase, resolveEventStoreOptions } from '../libs/event-store/src/index.js';

const USAGE = 'usage: node dist/migrations/cli.js run | status | revert';

/**
 * `npm run migrate` (run), `npm run migrate:status`, `npm run migrate:revert`: the store's
 * migrations on the database the EVENT_STORE_* variables name (the embedded one when unset).
 * Safe to run while services start: migrations take the same advisory lock.
 */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'run' && command !== 'status' && command !== 'revert') {
    throw new Error(USAGE);
  }
  const config = loadServiceConfig(processEnvironment());
  const database = await EventStoreDatabase.open(resolveEventStoreOptions(config.eventStore), false);
  try {
    await commands[command](database);
  } finally {
    await database.close();
  }
}

const commands = {
  async run(database: EventStoreDatabase): Promise<void> {
    const started = Date.now();
    const applied = await database.migrations().migrate((line) => console.log(line));
    console.log(
      applied.length === 0
        ? `Schema ${database.options.schema} is up to date`
        : `Applied ${applied.length} migration(s) to schema ${database.options.schema} in ${Date.now() - started} ms`,
    );
  },
  async status(database: EventStoreDatabase): Promise<void> {
    const { applied, pending } = await database.migrations().status();
    console.log(`Schema ${database.options.schema}:`);
    applied.forEach((name) => console.log(`  applied  ${name}`));
    pending.forEach((name) => console.log(`  pending  ${name}`));
    console.log(`${applied.length} applied, ${pending.length} pending`);
  },
  async revert(database: EventStoreDatabase): Promise<void> {
    const reverted = await database.migrations().revertLast();
    console.log(reverted === undefined ? 'Nothing to revert' : `Reverted ${reverted}`);
  },
};

main(process.argv[2]).catch((error: unknown) => {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
