import type { Command } from 'commander';
import type { RestampResult } from '../operations/restamp-result.js';
import { EventStoreConnection } from '../storage/event-store-connection.js';
import { runLong, withStore } from './command-context.js';
import { integerOption } from './option-parsers.js';

interface RestampFlags {
  batchSize?: number;
  lockTimeout?: number;
}

/**
 * `event-store restamp`: after a `pg_restore` into another cluster, new transaction ids for the
 * store's rows (docs/operations.md, "Backup and restore"), with progress on stderr and what it
 * did on stdout.
 */
export function restampCommand(program: Command): void {
  program
    .command('restamp')
    .description('after pg_restore into another cluster: new transaction ids in $all order, so $all shows every event at once')
    .option('--batch-size <n>', 'rows per statement (default 10000)', integerOption(1))
    .option('--lock-timeout <seconds>', 'how long to wait for writers and older transactions before refusing (default 5)', integerOption(1))
    .action(async (flags: RestampFlags, command: Command) => {
      const lockTimeoutMs = flags.lockTimeout === undefined ? undefined : flags.lockTimeout * 1000;
      const { result, schema } = await withStore(async (store, app) => ({
        schema: app.get(EventStoreConnection).schema,
        result: await runLong(command, 'restamp', (progress) => store.restamp({ ...progress, batchSize: flags.batchSize, lockTimeoutMs })),
      }));
      console.log(summary(result, schema));
    });
}

function summary(result: RestampResult, schema: string): string {
  const advanced = `transaction counter advanced by ${result.transactionIdsAdvanced}`;
  if (result.interrupted) return `Restamp of schema ${schema} interrupted: nothing restamped (${advanced}); run it again`;
  const { events, hardDeletedPositions, eventTags, streamLinks } = result.restamped;
  const changed = events + hardDeletedPositions + eventTags + streamLinks;
  const ids =
    result.groups === 0 ? 'no rows' : `${result.rows} row(s) in ${result.groups} group(s), transaction ids 3 to ${result.groups + 2}`;
  if (changed === 0) return `Schema ${schema} needs no restamp: ${ids}; ${advanced}`;
  return `Restamped schema ${schema}: ${changed} row(s) changed (events ${events}, hard-deleted positions ${hardDeletedPositions}, event tags ${eventTags}, stream links ${streamLinks}): ${ids}; ${advanced}`;
}
