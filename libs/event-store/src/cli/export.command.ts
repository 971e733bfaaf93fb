import { Option, type Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { open, stat, truncate } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { ExportResult } from '../operations/export-options.js';
import { runLong, withStore } from './command-context.js';
import { integerOption, listOption } from './option-parsers.js';

interface ExportFlags {
  out?: string;
  streamPrefix?: string;
  fromPosition?: number;
  eventTypes?: string[];
  gzip?: boolean;
  resume?: boolean;
}

/**
 * `event-store export`: every event as NDJSON in `$all` order, to a file or stdout, optionally
 * gzipped; `--resume` continues an interrupted export into the same file.
 */
export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('write every event as NDJSON (one JSON object a line, all fields, $all order), streamed')
    .option('--out <file>', 'write to this file instead of stdout (.gz: gzipped)')
    .option('--stream-prefix <prefix>', 'only events of streams whose id starts with this')
    .option('--from-position <n>', 'only events after this $all cursor (the position of the last event already exported)', integerOption(0))
    .option('--event-types <types>', 'only these event types (comma-separated)', listOption)
    .option('--gzip', 'gzip the output (implied by an --out file ending in .gz)')
    .addOption(
      new Option('--resume', 'continue an interrupted export: append to --out after its last whole line').conflicts('fromPosition'),
    )
    .action(async (flags: ExportFlags, command: Command) => {
      const gzip = flags.gzip === true || flags.out?.endsWith('.gz') === true;
      const fromPosition = flags.resume ? await resumePoint(flags.out, gzip, command) : (flags.fromPosition ?? 0);
      const result = await withStore(async (store) => {
        // Opened once the store is up, so that a failed start leaves an existing file as it was.
        const output = flags.out === undefined ? process.stdout : await openOutput(flags.out, flags.resume === true);
        const sink = gzip ? createGzip() : undefined;
        if (sink !== undefined) sink.pipe(output);
        const exported = await runLong(command, 'export', (progress) =>
          store.exportEvents(sink ?? output, { ...progress, fromPosition, streamPrefix: flags.streamPrefix, eventTypes: flags.eventTypes }),
        );
        await close(sink, output);
        return exported;
      });
      if (flags.out !== undefined) console.log(summary(result, flags.out, gzip));
    });
}

/** The export's file, open (a missing directory or a denied write is an error here, not a crash later). */
async function openOutput(file: string, append: boolean): Promise<NodeJS.WritableStream> {
  const output = createWriteStream(file, { flags: append ? 'a' : 'w' });
  await Promise.race([once(output, 'open'), once(output, 'error').then(([error]) => Promise.reject(error as Error))]);
  return output;
}

function summary(result: ExportResult, file: string, gzip: boolean): string {
  const last = result.lastPosition === null ? '' : `, last position ${result.lastPosition}`;
  const how = gzip
    ? `export the rest into a new file with --from-position ${result.lastPosition}`
    : `resume with --resume (or --from-position ${result.lastPosition})`;
  const resume = result.interrupted && result.lastPosition !== null ? `: ${how}` : '';
  return `Exported ${result.exported} events to ${file}${last}${resume}`;
}

/** Ends what the export wrote to: the gzip stream first (its last bytes go on to the output), then the file; stdout stays open. */
async function close(sink: NodeJS.WritableStream | undefined, output: NodeJS.WritableStream): Promise<void> {
  if (sink !== undefined) {
    const flushed = finished(sink as NodeJS.WritableStream & NodeJS.ReadableStream);
    sink.end();
    await flushed;
  }
  if (output === process.stdout) return;
  output.end();
  await finished(output as NodeJS.WritableStream & NodeJS.ReadableStream);
}

/**
 * Where an interrupted export to `file` stopped: the position of its last whole line. A partial
 * last line (the process was killed mid-write) is cut off first.
 */
async function resumePoint(file: string | undefined, gzip: boolean, command: Command): Promise<number> {
  if (file === undefined) command.error('error: --resume needs --out FILE: the export to continue');
  if (gzip) command.error('error: --resume works on an uncompressed export: a gzip file cut short cannot be appended to');
  const size = await stat(file).then(
    (found) => found.size,
    () => command.error(`error: --resume: ${file} does not exist`),
  );
  if (await startsLikeGzip(file)) command.error(`error: --resume: ${file} is gzipped: export into a new file`);
  const { bytes, start } = await tail(file, size);
  // A newline byte never occurs inside a UTF-8 sequence: the buffer is cut at whole lines.
  const end = bytes.lastIndexOf(0x0a);
  if (end < 0) {
    if (size > 0) command.error(`error: --resume: ${file} holds no whole line of an export`);
    return 0;
  }
  const lastLine = bytes.subarray(bytes.lastIndexOf(0x0a, end - 1) + 1, end).toString('utf8');
  const position = /^\{"globalPosition":(\d+)/.exec(lastLine)?.[1];
  if (position === undefined) command.error(`error: --resume: the last line of ${file} is not an exported event`);
  // Checked before anything is cut: only a partial last line, as a kill mid-write leaves, goes.
  await truncate(file, start + end + 1);
  return Number(position);
}

async function startsLikeGzip(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The end of `file`, from its start or far enough back to hold its last two lines. */
async function tail(file: string, size: number): Promise<{ bytes: Buffer; start: number }> {
  const handle = await open(file);
  try {
    for (let window = 64 * 1024; ; window *= 4) {
      const start = Math.max(0, size - window);
      const bytes = Buffer.alloc(size - start);
      await handle.read(bytes, 0, bytes.length, start);
      const lastBreak = bytes.lastIndexOf(0x0a);
      if (start === 0 || (lastBreak > 0 && bytes.lastIndexOf(0x0a, lastBreak - 1) >= 0)) return { bytes, start };
    }
  } finally {
    await handle.close();
  }
}
