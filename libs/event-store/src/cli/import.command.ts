import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { OperationProgress, ProgressListener } from '../operations/progress.js';
import { runLong, withStore } from './command-context.js';
import { integerOption } from './option-parsers.js';

/**
 * `event-store import FILE`: an export's NDJSON (plain or gzipped, `-` for stdin) into the store
 * the environment names; a re-run after an interruption or a kill stores nothing twice.
 */
export function importCommand(program: Command): void {
  program
    .command('import')
    .description("store an export's events (NDJSON, plain or gzipped; - reads stdin): idempotent by event id, $all order kept")
    .argument('<file>', 'the export to import, or - for stdin')
    .option('--batch-size <n>', 'lines stored per transaction', integerOption(1), 1000)
    .action(async (file: string, flags: { batchSize: number }, command: Command) => {
      const { input, size, counted } = await openInput(file, command);
      const result = await withStore((store) =>
        runLong(command, 'import', (progress) =>
          store.importEvents(input, {
            ...progress,
            batchSize: flags.batchSize,
            onProgress: estimating(progress.onProgress, counted, size),
          }),
        ),
      );
      input.destroy();
      console.log(
        `Imported ${result.imported} events, skipped ${result.skipped} already stored (${result.read} lines read)${result.interrupted ? ': interrupted, run the command again to resume' : ''}`,
      );
    });
}

/**
 * The input's bytes, gunzipped when they start like gzip (told by the first bytes themselves, so a
 * pipe or stdin works as a file does), its size when it is a file, and a count of the bytes read.
 */
async function openInput(file: string, command: Command): Promise<{ input: Readable; size: number | undefined; counted: () => number }> {
  const size =
    file === '-'
      ? undefined
      : await stat(file).then(
          (found) => (found.isFile() ? found.size : undefined),
          () => command.error(`error: cannot read ${file}: no such file`),
        );
  let read = 0;
  const raw: Readable = file === '-' ? process.stdin : createReadStream(file);
  const chunks = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await chunks.next();
  async function* counted(): AsyncGenerator<Buffer> {
    for (let next = first; !next.done; next = await chunks.next()) {
      read += next.value.length;
      yield next.value;
    }
  }
  const bytes = Readable.from(counted());
  const gzipped = !first.done && first.value[0] === 0x1f && first.value[1] === 0x8b;
  if (!gzipped) return { input: bytes, size, counted: () => read };
  const gunzip = createGunzip();
  // An error on either side reaches the reader of the gunzipped lines.
  pipeline(bytes, gunzip).catch((error: Error) => gunzip.destroy(error));
  return { input: gunzip, size, counted: () => read };
}

/** Progress with a total estimated from the share of the file read so far (lines are of like size). */
function estimating(listener: ProgressListener, counted: () => number, size: number | undefined): ProgressListener {
  return (progress: OperationProgress) => {
    const read = counted();
    const total = size === undefined || read === 0 ? undefined : Math.max(progress.done, Math.round((progress.done * size) / read));
    listener({ done: progress.done, total });
  };
}
