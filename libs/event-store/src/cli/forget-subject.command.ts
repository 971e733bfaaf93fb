import type { Command } from 'commander';
import type { ForgetSubjectResult } from '../erasure/forget-subject-result.js';
import { withStore } from './command-context.js';

/**
 * `event-store forget-subject ID`: erasure of a data subject's personal data (docs/erasure.md).
 * Destroys the key its personal fields are encrypted with: from then on every reader, in every
 * process, reads them as `{ "$erased": true }`. Idempotent; `--json` prints the result as JSON.
 */
export function forgetSubjectCommand(program: Command): void {
  program
    .command('forget-subject')
    .description("destroy a data subject's key: its personal fields read as erased from now on, everything else stays (cannot be undone)")
    .argument('<subject-id>', 'the id of the data subject, as its events hold it (e.g. a player id)')
    .option('--json', 'print the result as JSON')
    .action((subjectId: string, options: { json?: boolean }) =>
      withStore(async (store) => print(await store.forgetSubject(subjectId), options.json === true)),
    );
}

function print(result: ForgetSubjectResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const when = result.forgottenAt.toISOString();
  process.stdout.write(
    result.alreadyForgotten
      ? `Subject ${result.subjectId} was already forgotten (on ${when}): nothing changed\n`
      : `Forgot subject ${result.subjectId} at ${when}: its personal data now reads as erased\n`,
  );
}
