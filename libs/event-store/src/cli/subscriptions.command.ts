import { Command, InvalidArgumentError as BadArgument } from 'commander';
import type { EventStore } from '../event-store.service.js';
import type { SubscriptionStatus } from '../types/subscription-status.js';
import { withStore } from './command-context.js';
import { textTable } from './text-table.js';

/**
 * `event-store subscriptions list|reset NAME POSITION|replay NAME`: the persistent subscriptions
 * of the store, whichever processes run them. A NAME is a subscription's, or a group's (then
 * `reset` and `replay` act on each of its partitions, `NAME:0`, `NAME:1`, ...).
 */
export function subscriptionsCommand(program: Command): void {
  const subscriptions = program
    .command('subscriptions')
    .description('inspect and steer persistent subscriptions (list, reset NAME POSITION, replay NAME)');
  subscriptions
    .command('list')
    .description('every persistent subscription: what it reads, checkpoint, head, lag, lease owner, failed and dead-lettered deliveries')
    .option('--json', 'print a JSON array instead of a table')
    .action((options: { json?: boolean }) => withStore((store) => list(store, options.json === true)));
  subscriptions
    .command('reset')
    .description(
      'move the checkpoint of a subscription (or of every partition of a group): it resumes after POSITION. Refused while a process runs it, unless --while-running',
    )
    .argument('<name>', 'the subscription, or a group')
    .argument(
      '<position>',
      "a $all position (0: the origin; 'end': the last event now), or a stream version for a stream subscription",
      position,
    )
    .option(
      '--while-running',
      'also while a process runs it: that process stops at its next lease renewal, and delivery resumes after POSITION 2 to 3 s later',
    )
    .action((name: string, to: number | 'end', options: { whileRunning?: boolean }) =>
      withStore((store) => reset(store, name, to, options.whileRunning === true)),
    );
  subscriptions
    .command('replay')
    .description('make the failed and dead-lettered deliveries of a subscription (or of every partition of a group) due again now')
    .argument('<name>', 'the subscription, or a group')
    .option('--status <status>', 'only failed deliveries (waiting for a retry), or only dead-lettered ones: failed | dead', deliveryStatus)
    .action((name: string, options: { status?: 'failed' | 'dead' }) => withStore((store) => replay(store, name, options.status)));
}

async function list(store: EventStore, json: boolean): Promise<void> {
  const statuses = await store.listSubscriptions();
  if (json) {
    process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  if (statuses.length === 0) {
    process.stdout.write('No persistent subscriptions\n');
    return;
  }
  const headers = ['NAME', 'READS', 'GROUP', 'CHECKPOINT', 'HEAD', 'LAG', 'OWNER', 'FAILED', 'DEAD'];
  const rows = statuses.map((s) => [
    s.name,
    reads(s),
    s.group === null ? '-' : `${s.group.name} #${s.group.partition} of ${s.group.partitions}`,
    s.checkpoint,
    s.head,
    s.lag,
    s.owner ?? '-',
    s.failed,
    s.dead,
  ]);
  process.stdout.write(textTable(headers, rows));
}

async function reset(store: EventStore, name: string, to: number | 'end', whileRunning: boolean): Promise<void> {
  const targets = await existing(store, name);
  const running = targets.filter((target) => target.owner !== null);
  if (running.length > 0 && !whileRunning) {
    const where = running.map((target) => `${target.name} in ${target.owner}`).join(', ');
    throw new Error(
      `Subscription '${name}' is running (${where}): stop it first, or pass --while-running (the running process stops at its next lease renewal, and delivery resumes after the new checkpoint 2 to 3 s later)`,
    );
  }
  const checkpoints = targets.map((target) => (to === 'end' ? target.head : to));
  // Every checkpoint is checked before any moves, so that a bad POSITION leaves a group as it was.
  for (const [index, target] of targets.entries()) await assertPosition(store, target, checkpoints[index]!);
  for (const [index, target] of targets.entries()) {
    await store.resetSubscription(target.name, checkpoints[index]!, { whileRunning });
    process.stdout.write(`Reset subscription '${target.name}' to ${checkpoints[index]} (was ${target.checkpoint})\n`);
  }
  if (running.length > 0) {
    process.stderr.write(`event-store: ${running.length} running: delivery resumes after the new checkpoint within about 3 s\n`);
  }
}

async function replay(store: EventStore, name: string, status: 'failed' | 'dead' | undefined): Promise<void> {
  const targets = await existing(store, name);
  let replayed = 0;
  for (const target of targets) {
    replayed += await store.replayFailedDeliveries(target.name, { status });
  }
  const what = status === 'failed' ? 'failed' : status === 'dead' ? 'dead-lettered' : 'failed and dead-lettered';
  process.stdout.write(`Replayed ${replayed} ${what} deliveries of '${name}'\n`);
  if (replayed === 0) return;
  process.stderr.write(
    targets.some((target) => target.owner !== null)
      ? 'event-store: they are due now: the process running it retries them at its next failed-delivery run (every second)\n'
      : 'event-store: they are due now, and no process runs it: they are retried once one does\n',
  );
}

/** The subscription `name`, or the partitions of the group `name`; one clear line when there is neither. */
async function existing(store: EventStore, name: string): Promise<SubscriptionStatus[]> {
  const targets = await store.listSubscriptions({ name });
  if (targets.length === 0) {
    throw new Error(`No subscription or group named '${name}': \`event-store subscriptions list\` shows them`);
  }
  return targets;
}

/** Refuses a checkpoint a subscription could not resume after: not a cursor of `$all`, or past the stream's end. */
async function assertPosition(store: EventStore, target: SubscriptionStatus, checkpoint: number): Promise<void> {
  if (target.streamId !== '$all') {
    if (checkpoint > target.head) {
      throw new Error(
        `POSITION ${checkpoint} is past the end of stream '${target.streamId}' (version ${target.head}): pass a version up to it`,
      );
    }
    return;
  }
  if (checkpoint === 0) return;
  await store.readAllForward({ fromPosition: checkpoint, maxCount: 1 }).catch(() => {
    throw new Error(
      `POSITION ${checkpoint} is not the position of an event of this store: pass 0, 'end', or the globalPosition of an event (as a read of $all gives)`,
    );
  });
}

function reads(status: SubscriptionStatus): string {
  const { eventTypes, streamPrefix, tags } = status.filter;
  const parts = [status.streamId === '$all' ? '$all' : `stream ${status.streamId}`];
  if (streamPrefix !== undefined) parts.push(`prefix ${streamPrefix}`);
  if (eventTypes !== undefined) parts.push(`types ${eventTypes.join(',')}`);
  if (tags !== undefined) parts.push(`tags ${tags.join(',')}`);
  return parts.join(' ');
}

function position(text: string): number | 'end' {
  if (text === 'end') return 'end';
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) throw new BadArgument("must be an integer >= 0, or 'end'");
  return value;
}

function deliveryStatus(text: string): 'failed' | 'dead' {
  if (text !== 'failed' && text !== 'dead') throw new BadArgument('must be failed or dead');
  return text;
}
