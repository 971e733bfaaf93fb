import type { Command } from 'commander';
import { resolveEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { optionsFromEnvironment } from './cli-environment.js';

/**
 * `event-store migrate [run|status|revert]`: the store's migrations on the database the
 * environment names. Safe beside starting services: migrations take the same advisory lock.
 */
export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description("apply (run), list (status) or revert the last of the store's schema migrations")
    .argument('[action]', 'run | status | revert', 'run')
    .action(async (action: string) => {
      if (action !== 'run' && action !== 'status' && action !== 'revert') {
        program.error(`error: unknown migrate action '${action}': use run, status or revert`);
      }
      const database = await EventStoreDatabase.open(resolveEventStoreOptions(optionsFromEnvironment()), false);
      try {
        await actions[action](database);
      } finally {
        await database.close();
      }
    });
}

const actions = {
  async run(database: EventStoreDatabase): Promise<void> {
    const started = Date.now();
    const applied = await database.migrations().migrate((line) => console.error(line));
    const schema = database.options.schema;
    console.log(
      applied.length === 0
        ? `Schema ${schema} is up to date`
        : `Applied ${applied.length} migration(s) to schema ${schema} in ${Date.now() - started} ms`,
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
