import type { AllFilter } from '../types/read-options.js';

/** What an append (or a poll) saw written: the streams and their event types. */
export interface Touched {
  streamId: string;
  eventType: string;
}

/**
 * What a wake-up is about: the streams and event types written, or `undefined` when that is not
 * known (a reconnect, a payload too long to send, another version's notification): then every
 * subscriber looks.
 */
export type WakeHint = readonly Touched[] | undefined;

/**
 * Whether a subscriber needs to look after a wake-up about `touched`. A filter of one stream says
 * which (`streamId`), so that a wake-up finds its waiters by stream instead of asking each.
 */
export type WakeFilter = ((touched: readonly Touched[]) => boolean) & { readonly streamId?: string };

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes and more. */
const MAX_PAYLOAD_BYTES = 7_900;

/** The hints of several appends as one. `undefined` (anything) absorbs everything. */
export function mergeHints(a: WakeHint, b: WakeHint): WakeHint {
  if (a === undefined || b === undefined) return undefined;
  const seen = new Set(a.map(keyOf));
  return [...a, ...b.filter((touched) => !seen.has(keyOf(touched)))];
}

/**
 * The NOTIFY payload of a hint: the sending process's tag, then `[[streamId, eventType], ...]`, or
 * the tag alone (anything) when too long.
 */
export function encodeHint(hint: WakeHint, sender: string): string {
  if (hint === undefined) return `${sender}|`;
  const payload = `${sender}|${JSON.stringify(hint.map(({ streamId, eventType }) => [streamId, eventType]))}`;
  return Buffer.byteLength(payload) < MAX_PAYLOAD_BYTES ? payload : `${sender}|`;
}

/** The sending process's tag of a NOTIFY payload (its own wake-ups a process has had already). */
export function senderOf(payload: string | undefined): string | undefined {
  const bar = payload?.indexOf('|') ?? -1;
  return bar < 0 ? undefined : payload!.slice(0, bar);
}

/** The hint of a NOTIFY payload; anything not understood is `undefined` (everyone looks). */
export function decodeHint(payload: string | undefined): WakeHint {
  const body = payload?.slice(payload.indexOf('|') + 1);
  if (!body) return undefined;
  try {
    const pairs: unknown = JSON.parse(body);
    if (!Array.isArray(pairs)) return undefined;
    const hint: Touched[] = [];
    for (const pair of pairs) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return undefined;
      hint.push({ streamId: pair[0], eventType: pair[1] });
    }
    return hint;
  } catch {
    return undefined;
  }
}

/** Which wake-ups concern a subscription to `$all` with `filter` (a partition counts as all of it). */
export function allFilterConcerns(filter: AllFilter | undefined): WakeFilter {
  const types = filter?.eventTypes && new Set(filter.eventTypes);
  const prefix = filter?.streamPrefix;
  return (touched) =>
    touched.some(
      ({ streamId, eventType }) => (types === undefined || types.has(eventType)) && (prefix === undefined || streamId.startsWith(prefix)),
    );
}

/** Which wake-ups concern a subscription to one stream. */
export function streamConcerns(streamId: string): WakeFilter {
  return Object.assign((touched: readonly Touched[]) => touched.some((written) => written.streamId === streamId), { streamId });
}

function keyOf({ streamId, eventType }: Touched): string {
  return `${streamId}\u0000${eventType}`;
}
