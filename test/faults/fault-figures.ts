import type { TailConnection, TailEvent } from './all-tail.js';
import type { Answer, Batch } from './http-writers.js';

/** An event of `$all`, as `GET /all/events` returns it. */
export interface AllEvent {
  eventId: string;
  streamId: string;
  streamVersion: number;
  globalPosition: number;
}

/** One webhook request the receiver answered. */
export interface WebhookHit {
  event: AllEvent;
  at: number;
  /** The receiver's connection it came on. */
  connection: number;
}

/** One injected fault, with when the database went away and came back. */
export interface Fault {
  name: string;
  startedAt: number;
  /** When the database was first seen refusing connections (or the lock was taken). */
  downAt?: number;
  /** When the database was first seen accepting connections again (`pg_isready`, or the lock released). */
  readyAt?: number;
  /** The first append acknowledged once the database accepted connections again. */
  firstAcknowledgedAt?: number;
  endedAt?: number;
  /** What was done, counted (backends terminated, ...). */
  note?: string;
}

/** When the lease of the webhook was seen held by an owner. */
export interface OwnerChange {
  owner: string | null;
  at: number;
}

/**
 * How a repeated webhook delivery may come (docs/subscriptions.md, at least once): a holder that
 * starts delivering (it took the lease over, or took its own back after an outage kept it from
 * confirming the lease) resumes after the stored checkpoint, so it repeats what was handled since:
 * at most the last checkpoint batch (`checkpointEvery`, 100) and the event that was in flight.
 */
const REPLAY = { batch: 100 + 1, beforeTakeoverMs: 1_000, afterTakeoverMs: 3_000, afterOutageMs: 3_000 + 2_000 };

/** A database outage, from the fault until the database accepted connections again. */
export interface Outage {
  name: string;
  from: number;
  to: number;
}

/** A run of deliveries of events delivered before. */
interface Replay {
  at: number;
  events: number;
  cause?: string;
}

/** What `$all` holds compared with what the writers were told. */
export function ledgerFigures(batches: Batch[], all: AllEvent[]) {
  const counts = countBy(all.map((event) => event.eventId));
  const acknowledged = batches.filter((batch) => batch.acknowledged !== undefined).flatMap((batch) => batch.eventIds);
  const unacknowledged = batches.filter((batch) => batch.acknowledged === undefined).flatMap((batch) => batch.eventIds);
  const sent = new Set([...acknowledged, ...unacknowledged]);
  return {
    appends: batches.length,
    acknowledgedAppends: batches.filter((batch) => batch.acknowledged !== undefined).length,
    /** Appends acknowledged only after they were sent again (same event ids). */
    retriedAppends: batches.filter((batch) => batch.acknowledged !== undefined && batch.attempts.length > 1).length,
    acknowledged: acknowledged.length,
    unacknowledged: unacknowledged.length,
    inAll: all.length,
    lost: acknowledged.filter((id) => !counts.has(id)),
    duplicated: [...counts].filter(([, count]) => count > 1).map(([id]) => id),
    unacknowledgedStored: unacknowledged.filter((id) => counts.has(id)).length,
    foreign: all.filter((event) => !sent.has(event.eventId)).length,
    abandoned: batches.filter((batch) => batch.abandoned !== undefined).map((batch) => `${batch.streamId}: ${batch.abandoned}`),
    streamGaps: streamGaps(all),
  };
}

/** Per stream, versions that do not run 1, 2, 3... in `$all` order. */
function streamGaps(all: AllEvent[]): string[] {
  const last = new Map<string, number>();
  const gaps: string[] = [];
  for (const event of all) {
    const previous = last.get(event.streamId) ?? 0;
    if (event.streamVersion !== previous + 1) gaps.push(`${event.streamId}@${event.streamVersion} after ${previous}`);
    last.set(event.streamId, event.streamVersion);
  }
  return gaps;
}

/**
 * The longest time from an append's acknowledgement to a reader's first receipt of its events,
 * for the appends acknowledged between `from` and `to`.
 */
export function longestLag(batches: Batch[], received: Array<{ eventId: string; at: number }>, from: number, to: number): number {
  const firstSeen = new Map<string, number>();
  for (const { eventId, at } of received) if (!firstSeen.has(eventId)) firstSeen.set(eventId, at);
  let longest = 0;
  for (const batch of batches) {
    const at = batch.acknowledged?.at;
    if (at === undefined || at < from || at > to) continue;
    for (const id of batch.eventIds) longest = Math.max(longest, (firstSeen.get(id) ?? Infinity) - at);
  }
  return longest;
}

/** What the SSE tail received compared with `$all`. */
export function tailFigures(received: TailEvent[], connections: TailConnection[], all: AllEvent[]) {
  const ids = received.map((event) => event.eventId);
  const seen = new Set(ids);
  const order = all.map((event) => event.eventId);
  return {
    received: ids.length,
    duplicates: ids.length - seen.size,
    missing: order.filter((id) => !seen.has(id)).length,
    /** The first place where the tail's sequence differs from `$all`'s, or -1. */
    firstOutOfOrder: firstDifference(ids, order),
    connections: connections.length,
    resumes: connections.filter((connection) => connection.resumedAfter !== undefined && connection.status === 200).length,
    failedConnects: connections.filter((connection) => connection.status !== 200).length,
    closeReasons: countObject(connections.map((connection) => connection.closeReason ?? (connection.endedAt ? 'dropped' : 'open'))),
  };
}

/**
 * What the webhook received compared with `$all`. Repeats come in replays (runs of events
 * delivered before): each must have a cause (see {@link REPLAY}) and be at most a checkpoint batch
 * long. First deliveries must keep each stream's order.
 */
export function webhookFigures(hits: WebhookHit[], all: AllEvent[], owners: OwnerChange[], outages: Outage[]) {
  const seen = new Set<string>();
  const lastVersion = new Map<string, number>();
  const replays: Replay[] = [];
  const outOfOrder: string[] = [];
  let replaying = false;
  for (const hit of hits) {
    const { eventId, streamId, streamVersion } = hit.event;
    if (seen.has(eventId)) {
      if (!replaying) replays.push({ at: hit.at, events: 0 });
      replays.at(-1)!.events++;
      replaying = true;
      continue;
    }
    replaying = false;
    seen.add(eventId);
    const previous = lastVersion.get(streamId) ?? 0;
    if (streamVersion !== previous + 1) outOfOrder.push(`${streamId}@${streamVersion} after ${previous}`);
    lastVersion.set(streamId, streamVersion);
  }
  // From one holder to another (not the first holder taking a free lease).
  const takeovers = owners.filter((change, index) => index > 0 && owners[index - 1]!.owner !== null);
  for (const replay of replays) replay.cause = causeOf(replay, takeovers, outages);
  return {
    received: hits.length,
    unique: seen.size,
    duplicates: hits.length - seen.size,
    replays,
    /** Replays without a cause, or longer than a checkpoint batch. */
    offContract: replays.filter((replay) => replay.cause === undefined || replay.events > REPLAY.batch),
    missing: all.filter((event) => !seen.has(event.eventId)).length,
    outOfOrder,
    takeovers: takeovers.length,
  };
}

function causeOf(replay: Replay, takeovers: OwnerChange[], outages: Outage[]): string | undefined {
  const { at } = replay;
  if (takeovers.some((change) => at >= change.at - REPLAY.beforeTakeoverMs && at <= change.at + REPLAY.afterTakeoverMs)) {
    return 'takeover';
  }
  return outages.filter((outage) => at >= outage.from && at <= outage.to + REPLAY.afterOutageMs).at(-1)?.name;
}

/** The answers to the appends, counted by status and code, and those the contract does not allow. */
export function answerFigures(answers: Answer[], killed: Map<string, number>, deadlineMs: number, success = 201) {
  const label = (answer: Answer): string =>
    answer.status === 0 ? `no answer (${answer.error}) from ${answer.instance}` : `${answer.status} ${codeOf(answer) ?? ''}`.trim();
  const answered = answers.filter((answer) => answer.status !== 0);
  return {
    byKind: countObject(answers.map(label)),
    /** 503 and 504 without the contract's error body, and every status but `success`, 503 and 504. */
    offContract: summary(answered.filter((answer) => answer.status !== success && !isOutageAnswer(answer)).map(label)),
    /** Requests that got no answer, except those in flight to an instance when it was SIGKILLed. */
    unanswered: summary(
      answers
        .filter((answer) => answer.status === 0)
        .filter((answer) => !(killed.has(answer.instance) && answer.sentAt <= killed.get(answer.instance)!))
        .map(label),
    ),
    slowestMs: Math.max(0, ...answered.map((answer) => answer.at - answer.sentAt)),
    /** Median and 99th percentile of the successful answers' times. */
    acknowledgedMs: percentiles(answers.filter((answer) => answer.status === success).map((answer) => answer.at - answer.sentAt)),
    overDeadline: answered.filter((answer) => answer.at - answer.sentAt > deadlineMs).length,
  };
}

/** A 503 `STORE_UNAVAILABLE` or 504 `TIMEOUT` with the body `{ statusCode, code, message, details }`. */
function isOutageAnswer(answer: Answer): boolean {
  const body = answer.body as { statusCode?: unknown; code?: unknown; message?: unknown; details?: unknown } | undefined;
  const expected = answer.status === 503 ? 'STORE_UNAVAILABLE' : answer.status === 504 ? 'TIMEOUT' : undefined;
  return (
    expected !== undefined &&
    body?.statusCode === answer.status &&
    body.code === expected &&
    typeof body.message === 'string' &&
    body.message.length > 0 &&
    typeof body.details === 'object' &&
    body.details !== null
  );
}

/** Distinct values with their counts (`value x n`), for a failure message that stays short. */
function summary(values: string[]): string[] {
  return Object.entries(countObject(values)).map(([value, count]) => `${value} x${count}`);
}

function codeOf(answer: Answer): string | undefined {
  const code = (answer.body as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Non-201 answers per status and code, while a fault was on (from its start until appends succeeded again). */
export function answersDuring(fault: Fault, answers: Answer[]): string {
  const end = fault.firstAcknowledgedAt ?? fault.endedAt ?? Infinity;
  const during = answers.filter((answer) => answer.at >= fault.startedAt && answer.at <= end && answer.status !== 201);
  const counts = countObject(during.map((answer) => (answer.status === 0 ? `conn ${answer.error}` : `${answer.status}`)));
  return Object.entries(counts)
    .map(([kind, count]) => `${kind}x${count}`)
    .join(' ');
}

/** Rows of cells as a plain table, columns padded to their widest cell. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]): string => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** Milliseconds from `from` to `to`, or `-` when either is unknown. */
export function ms(from: number | undefined, to: number | undefined): string {
  return from === undefined || to === undefined ? '-' : String(Math.max(0, to - from));
}

function percentiles(values: number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
}

function firstDifference(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function countObject(values: string[]): Record<string, number> {
  return Object.fromEntries(countBy(values));
}
