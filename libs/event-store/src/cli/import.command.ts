import type { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
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

/** The input's bytes (gunzipped when it starts like gzip), its size, and a count of the bytes read so far. */
async function openInput(file: string, command: Command): Promise<{ input: Readable; size: number | undefined; counted: () => number }> {
  const size =
    file === '-'
      ? undefined
      : await stat(file).then(
          (found) => found.size,
          () => command.error(`error: cannot read ${file}: no such file`),
        );
  const gzipped = file !== '-' && (await startsLikeGzip(file));
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      done(null, chunk);
    },
  });
  const raw: Readable = file === '-' ? process.stdin : createReadStream(file);
  raw.on('error', (error) => counter.destroy(error));
  raw.pipe(counter);
  return { input: gzipped ? counter.pipe(createGunzip()) : counter, size, counted: () => read };
}

async function startsLikeGzip(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const magic = Buffer.alloc(2);
    await handle.read(magic, 0, 2, 0);
    return magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Progress with a total estimated from the share of the file read so far (lines are of like size). */
function estimating(listener: ProgressListener, counted: () => number, size: number | undefined): ProgressListener {
  return (progress: OperationProgress) => {
    const read = counted();
    const total = size === undefined || read === 0 ? undefined : Math.max(progress.done, Math.round((progress.done * size) / read));
    listener({ done: progress.done, total });
  };
}
