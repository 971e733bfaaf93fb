import type { Command } from 'commander';
import type { VerifyResult } from '../operations/verify-options.js';
import { runLong, withStore } from './command-context.js';
import { integerOption } from './option-parsers.js';

/** The exit code of a verify that found corrupted events (1 is a failure to verify at all). */
export const EXIT_CORRUPTED = 2;

interface VerifyFlags {
  batchSize?: number;
  fromPosition?: number;
}

/**
 * `event-store verify`: every stored event's checksum, in batches with progress on stderr. Each
 * corrupted event is a line on stdout, then a summary; exit code 2 when any was found.
 */
export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description("check every stored event's checksum; list the corrupted ones (exit code 2 if any)")
    .option('--batch-size <n>', 'events checked per statement (default 1000)', integerOption(1))
    .option('--from-position <n>', 'only events after this position (the last position of an interrupted run)', integerOption(0))
    .action(async (flags: VerifyFlags, command: Command) => {
      const result = await withStore((store) =>
        runLong(command, 'verify', (progress) =>
          store.verify({ ...progress, batchSize: flags.batchSize, fromPosition: flags.fromPosition }),
        ),
      );
      for (const event of result.corrupted) {
        console.log(
          `corrupted: event ${event.eventId}, stream '${event.streamId}' version ${event.streamVersion}, position ${event.globalPosition}`,
        );
      }
      console.log(summary(result));
      if (result.corrupted.length > 0) process.exitCode = EXIT_CORRUPTED;
    });
}

function summary(result: VerifyResult): string {
  const found = result.corrupted.length === 0 ? 'none corrupted' : `${result.corrupted.length} corrupted`;
  const resume = result.interrupted
    ? `; interrupted after position ${result.lastPosition ?? 0}: continue with --from-position ${result.lastPosition ?? 0}`
    : '';
  return `Checked ${result.checked} event(s): ${found}${resume}`;
}
