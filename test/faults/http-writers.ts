import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** A service instance the load is sent to. */
export interface Instance {
  name: string;
  url: string;
  pid: number;
  /** When it was SIGKILLed: from then on it gets no new request. */
  killedAt?: number;
}

/** One answer (or its absence) to one HTTP request. */
export interface Answer {
  instance: string;
  sentAt: number;
  at: number;
  /** The HTTP status, or 0 when no answer came (connection refused or reset, client timeout). */
  status: number;
  /** The error body of a non-2xx answer, as sent. */
  body?: unknown;
  /** Why no answer came (the `cause` code of the failed request). */
  error?: string;
}

/** One append as a writer sends it, with every attempt, until it is acknowledged. */
export interface Batch {
  writer: number;
  streamId: string;
  expectedVersion: 'no_stream' | number;
  eventIds: string[];
  attempts: Answer[];
  /** The 201 answer's body, once acknowledged. */
  acknowledged?: { at: number; fromVersion: number; toVersion: number; firstPosition: number; lastPosition: number };
  /** Why the writer stopped at this batch without an acknowledgement (an answer it cannot retry). */
  abandoned?: string;
}

/** What the writers send and how they retry. */
export interface WriterSettings {
  writers: number;
  /** The writer's token (role `write`). */
  token: string;
  /** Pause between two appends of one writer. */
  pauseMs: number;
  /** Client-side limit of one request: an answer later than this counts as a hang. */
  requestTimeoutMs: number;
}

/**
 * Writers appending over HTTP, each to a stream of its own with the exact expected version, one
 * to three events per append with ids of their own, spread over the live instances. An append
 * answered 503, 504 or not at all is sent again with the same ids and expected version (to the
 * next instance): the store must recognise a re-send of what it stored, so that nothing is stored
 * twice and the expected version still holds. Any other answer stops the writer.
 */
export class HttpWriters {
  readonly batches: Batch[] = [];
  private stopping = false;
  private giveUpAt = Infinity;
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly live: () => Instance[],
    private readonly settings: WriterSettings,
  ) {}

  /** Every request's answer, in the order they were sent. */
  answers(): Answer[] {
    return this.batches.flatMap((batch) => batch.attempts).sort((a, b) => a.sentAt - b.sentAt);
  }

  start(): void {
    this.loops = Array.from({ length: this.settings.writers }, (_, writer) => this.write(writer));
  }

  /** Stops after each writer's current append is acknowledged (or `drainMs` have passed). */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.giveUpAt = Date.now() + drainMs;
    await Promise.all(this.loops);
  }

  /** When the first append acknowledged at or after `since` was answered. */
  firstAcknowledgedAfter(since: number): number | undefined {
    let first: number | undefined;
    for (const batch of this.batches) {
      const at = batch.acknowledged?.at;
      if (at !== undefined && at >= since && (first === undefined || at < first)) first = at;
    }
    return first;
  }

  private async write(writer: number): Promise<void> {
    const streamId = `fault-writer-${writer}`;
    let version = 0;
    for (let turn = writer; !this.stopping; turn++) {
      const batch: Batch = {
        writer,
        streamId,
        expectedVersion: version === 0 ? 'no_stream' : version,
        eventIds: Array.from({ length: 1 + (turn % 3) }, () => randomUUID()),
        attempts: [],
      };
      this.batches.push(batch);
      await this.deliver(batch, turn);
      if (batch.acknowledged === undefined) return;
      version = batch.acknowledged.toVersion;
      await sleep(this.settings.pauseMs);
    }
  }

  /** Sends `batch` until it is acknowledged, retrying what may be retried. */
  private async deliver(batch: Batch, turn: number): Promise<void> {
    const body = JSON.stringify({
      expectedVersion: batch.expectedVersion,
      events: batch.eventIds.map((eventId, n) => ({ eventId, eventType: 'FaultLoad', data: { writer: batch.writer, n } })),
    });
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > this.giveUpAt) {
        batch.abandoned = 'still unacknowledged when the writers stopped';
        return;
      }
      const instances = this.live();
      const instance = instances[(turn + attempt) % Math.max(1, instances.length)];
      if (instance === undefined) {
        await sleep(50);
        continue;
      }
      const answer = await this.post(instance, `/streams/${batch.streamId}/events`, body);
      batch.attempts.push(answer);
      if (answer.status === 201) {
        batch.acknowledged = { at: answer.at, ...(answer.body as Omit<NonNullable<Batch['acknowledged']>, 'at'>) };
        answer.body = undefined;
        return;
      }
      if (answer.status !== 0 && answer.status !== 503 && answer.status !== 504) {
        batch.abandoned = `answered ${answer.status}`;
        return;
      }
      await sleep(25 + Math.random() * 50);
    }
  }

  private async post(instance: Instance, path: string, body: string): Promise<Answer> {
    const sentAt = Date.now();
    try {
      const response = await fetch(`${instance.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.settings.token}` },
        body,
        signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
      });
      const text = await response.text();
      return { instance: instance.name, sentAt, at: Date.now(), status: response.status, body: parseJson(text) };
    } catch (error) {
      return { instance: instance.name, sentAt, at: Date.now(), status: 0, error: causeOf(error) };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The code of a failed `fetch` (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET...), or the error's name. */
export function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.name : String(error);
}
