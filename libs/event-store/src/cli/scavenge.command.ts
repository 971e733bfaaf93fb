import type { Command } from 'commander';
import type { ScavengeResult } from '../retention/scavenge-result.js';
import { runLong, withStore } from './command-context.js';
import { integerOption } from './option-parsers.js';

interface ScavengeFlags {
  batchSize?: number;
  streamPrefix?: string;
}

/**
 * `event-store scavenge`: deletes for good the events that streams' retention metadata
 * (`$maxAge`, `$maxCount`, `$truncateBefore`) hides, in batches with progress on stderr (events
 * and links removed so far), then one summary line on stdout. Safe beside running services;
 * Ctrl-C stops after the current batch, and a re-run carries on.
 */
export function scavengeCommand(program: Command): void {
  program
    .command('scavenge')
    .description("remove events past their stream's retention ($maxAge, $maxCount, $truncateBefore), in batches")
    .option('--batch-size <n>', 'events removed per transaction (1 to 10000, default 500)', integerOption(1))
    .option('--stream-prefix <prefix>', 'only streams whose id starts with this')
    .action(async (flags: ScavengeFlags, command: Command) => {
      const started = Date.now();
      const result = await withStore((store) =>
        runLong(command, 'scavenge', (progress) =>
          store.scavenge({ ...progress, batchSize: flags.batchSize, streamPrefix: flags.streamPrefix }),
        ),
      );
      console.log(summary(result, Date.now() - started));
    });
}

function summary(result: ScavengeResult, elapsedMs: number): string {
  const removed = `removed ${result.eventsRemoved} event(s), ${result.linksRemoved} link(s) and ${result.snapshotsRemoved} snapshot(s)`;
  const end = result.interrupted ? '; interrupted: run it again to carry on' : '';
  return `Scavenged ${result.streamsScanned} stream(s) with retention: ${removed} in ${elapsedMs} ms${end}`;
}
