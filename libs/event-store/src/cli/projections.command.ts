import { Command, InvalidArgumentError as BadArgument } from 'commander';
import type { EventStore } from '../event-store.service.js';
import type { ProjectionStatus, RebuildRequestProgress, RebuildRequestResult } from '../projections/projection-status.js';
import { EXIT_INTERRUPTED, interruptSignal, progressReporter, withStore } from './command-context.js';
import type { ProgressReporter } from './progress-reporter.js';
import { cut, textTable } from './text-table.js';

/** How long `projections rebuild` waits, by default, for a process to take its request up. */
const DEFAULT_TIMEOUT_SECONDS = 60;

/**
 * `event-store projections list|rebuild NAME`. A projection's handler lives in the application,
 * not in this command, so `rebuild` records a request that the process running the projection
 * takes up (`store.requestProjectionRebuild`), then follows the rebuild from its row until the
 * switch. Ctrl-C stops the waiting, never the rebuild.
 */
export function projectionsCommand(program: Command): void {
  const projections = program.command('projections').description('inspect and rebuild projections (list, rebuild NAME)');
  projections
    .command('list')
    .description('every projection: status, generation, checkpoint, lag, owner, rebuild, last error')
    .option('--json', 'print a JSON array instead of a table')
    .action((options: { json?: boolean }) => withStore((store) => list(store, options.json === true)));
  projections
    .command('rebuild')
    .description(
      'ask the process running a projection to rebuild it beside the live read model, then wait for the switch with progress on stderr. Ctrl-C stops the waiting, not the rebuild',
    )
    .argument('<name>', 'the projection')
    .option('--no-wait', 'record the request and return at once (`projections list` shows how it goes)')
    .option(
      '--timeout <seconds>',
      'give up after this long without a process taking the request up (the request is then withdrawn); once the rebuild runs, it is awaited however long it takes',
      positiveSeconds,
      DEFAULT_TIMEOUT_SECONDS,
    )
    .action((name: string, options: { wait: boolean; timeout: number }, command: Command) =>
      withStore((store) => (options.wait ? rebuild(command, store, name, options.timeout) : request(store, name))),
    );
}

async function list(store: EventStore, json: boolean): Promise<void> {
  const statuses = await store.listProjections();
  if (json) {
    process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  if (statuses.length === 0) {
    process.stdout.write('No projections\n');
    return;
  }
  const headers = ['NAME', 'STATUS', 'GENERATION', 'CHECKPOINT', 'LAG', 'OWNER', 'REBUILD', 'ERROR'];
  const rows = statuses.map((p) => [
    p.name,
    p.status,
    p.generation,
    p.checkpoint,
    p.lag,
    p.owner ?? '-',
    rebuildCell(p),
    p.lastError === null ? '-' : cut(p.lastError.message, 60),
  ]);
  process.stdout.write(textTable(headers, rows));
}

function rebuildCell(p: ProjectionStatus): string {
  if (p.rebuild?.active === true) return `generation ${p.rebuild.generation}: ${p.rebuild.processed}/${p.rebuild.total}`;
  if (p.rebuildRequestedAt !== null) return 'requested';
  if (p.rebuild !== null) return `generation ${p.rebuild.generation} left by a dead process`;
  if (p.rebuildError !== null) return cut(`failed: ${p.rebuildError.message}`, 60);
  return '-';
}

async function request(store: EventStore, name: string): Promise<void> {
  const result = await store.requestProjectionRebuild(name);
  process.stdout.write(`Requested a rebuild of projection '${name}' (${result.state})\n`);
  const where = result.state === 'rebuilding' ? `a rebuild under way in ${result.owner} answers it` : waitingFor(result.owner, name);
  process.stderr.write(`event-store: ${where}; \`event-store projections list\` shows how it goes\n`);
}

async function rebuild(command: Command, store: EventStore, name: string, timeoutSeconds: number): Promise<void> {
  const view = new RebuildView(command, name, timeoutSeconds);
  const interrupt = interruptSignal('stopping the waiting; the rebuild goes on (Ctrl-C again to exit at once)');
  try {
    const result = await store.requestProjectionRebuild(name, {
      wait: true,
      startTimeoutMs: Math.round(timeoutSeconds * 1000),
      signal: interrupt.signal,
      onProgress: (progress) => view.update(progress),
    });
    view.finish(result);
  } catch (error) {
    view.fail();
    throw error;
  } finally {
    interrupt.dispose();
  }
}

/** What `projections rebuild` shows on stderr while it waits: notices, then a progress bar or lines per rebuild. */
class RebuildView {
  private notice: string | undefined;
  private reporter: ProgressReporter | undefined;
  private rebuilding: { generation: number; baseline: number; owner: string | null } | undefined;

  constructor(
    private readonly command: Command,
    private readonly name: string,
    private readonly timeoutSeconds: number,
  ) {}

  update(progress: RebuildRequestProgress): void {
    if (progress.phase === 'requested') return this.requested(progress.owner);
    if (progress.phase === 'switched') return this.switched(progress);
    if (this.rebuilding?.generation !== progress.generation) this.begin(progress);
    // Counted from where this command joined, so that the rate and ETA are of what it saw.
    const done = progress.processed - this.rebuilding!.baseline;
    this.reporter!.update({ done, total: Math.max(progress.total - this.rebuilding!.baseline, done) });
  }

  /** The switch replays the last events in its own transaction: everything counted at the start is in. */
  private switched(progress: RebuildRequestProgress): void {
    if (this.reporter === undefined || this.rebuilding === undefined) return;
    const done = Math.max(progress.total, progress.processed) - this.rebuilding.baseline;
    this.reporter.update({ done, total: done });
    this.reporter.finish('switched');
  }

  finish(result: RebuildRequestResult): void {
    if (result.state === 'switched') {
      process.stdout.write(`Rebuilt projection '${this.name}': generation ${result.generation}, checkpoint ${result.checkpoint}\n`);
      return;
    }
    this.reporter?.finish('no longer awaited');
    const where =
      result.state === 'rebuilding' ? `goes on in ${result.owner}` : `is still requested (${waitingFor(result.owner, this.name)})`;
    process.stdout.write(
      `Rebuild of projection '${this.name}' ${result.state === 'rebuilding' ? 'under way' : 'requested'}, not awaited\n`,
    );
    process.stderr.write(
      `event-store: stopped waiting: the rebuild ${where}; \`event-store projections list\` shows it, and this command again waits for it\n`,
    );
    if (result.interrupted) process.exitCode = EXIT_INTERRUPTED;
  }

  fail(): void {
    this.reporter?.finish('failed');
  }

  private requested(owner: string | null): void {
    if (this.rebuilding !== undefined) {
      this.reporter?.finish(`stopped: ${this.rebuilding.owner ?? 'its process'} no longer rebuilds it (it died, or stopped)`);
      this.reporter = undefined;
      this.rebuilding = undefined;
    }
    const notice = `${waitingFor(owner, this.name)} (giving up after ${this.timeoutSeconds} s without one: --timeout)`;
    if (notice !== this.notice) process.stderr.write(`event-store: ${notice}\n`);
    this.notice = notice;
  }

  private begin(progress: RebuildRequestProgress): void {
    this.reporter?.finish('restarted');
    process.stderr.write(`event-store: ${progress.owner} rebuilds projection '${this.name}' into generation ${progress.generation}\n`);
    this.rebuilding = { generation: progress.generation, baseline: progress.processed, owner: progress.owner };
    this.reporter = progressReporter(this.command, `rebuild ${this.name}`);
    this.notice = undefined;
  }
}

function waitingFor(owner: string | null, name: string): string {
  return owner === null
    ? `no process runs projection '${name}' now: the request waits for one to start`
    : `${owner} runs projection '${name}' and takes the request up within a second`;
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new BadArgument('must be a positive number of seconds');
  return value;
}
