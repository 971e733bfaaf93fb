import { setTimeout as sleep } from 'node:timers/promises';
import { openEventStream, type SseClient } from '../helpers/sse-client.js';
import type { Instance } from './http-writers.js';

/** One event as the tail received it. */
export interface TailEvent {
  eventId: string;
  globalPosition: number;
  at: number;
}

/** One connection of the tail. */
export interface TailConnection {
  instance: string;
  /** The `Last-Event-ID` it resumed after (none for the first). */
  resumedAfter?: string;
  openedAt: number;
  /** The HTTP status, or 0 when the connection failed. */
  status: number;
  events: number;
  endedAt?: number;
  /** The code of the server's `close` event, when it sent one. */
  closeReason?: string;
  /** Why it could not connect. */
  error?: string;
}

/**
 * A client following `$all` over Server-Sent Events (`GET /all/subscribe`), as a browser's
 * `EventSource` does: when its connection ends, for whatever reason, it connects again (to the
 * instance it was told to use while that lives, otherwise to another) with `Last-Event-ID`, the id
 * of the last event it received, and should get every later event once.
 */
export class AllTail {
  readonly received: TailEvent[] = [];
  readonly connections: TailConnection[] = [];
  private lastEventId?: string;
  private current?: SseClient;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly live: () => Instance[],
    private readonly token: string,
    /** The instance it connects to while that lives. */
    public target: Instance,
  ) {}

  /** The instance of the connection open now, if any. */
  get connectedTo(): string | undefined {
    const last = this.connections.at(-1);
    return last !== undefined && last.status === 200 && last.endedAt === undefined ? last.instance : undefined;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Ends the connection from the client side: the tail connects again and resumes. */
  drop(): void {
    this.current?.close();
  }

  /** Resumes on `instance`. */
  moveTo(instance: Instance): void {
    this.target = instance;
    this.drop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.drop();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const instance = this.target.killedAt === undefined ? this.target : this.live()[0];
      if (instance === undefined) {
        await sleep(50);
        continue;
      }
      await this.follow(instance);
      await sleep(50);
    }
  }

  /** One connection, until it ends. */
  private async follow(instance: Instance): Promise<void> {
    const connection: TailConnection = {
      instance: instance.name,
      resumedAfter: this.lastEventId,
      openedAt: Date.now(),
      status: 0,
      events: 0,
    };
    this.connections.push(connection);
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (this.lastEventId !== undefined) headers['Last-Event-ID'] = this.lastEventId;
    try {
      this.current = await openEventStream(`${instance.url}/all/subscribe`, headers);
    } catch (error) {
      connection.error = (error as { code?: string }).code ?? String(error);
      connection.endedAt = Date.now();
      return;
    }
    connection.status = this.current.status;
    const client = this.current;
    let read = 0;
    for (;;) {
      const ended = client.ended;
      for (; read < client.messages.length; read++) this.take(client.messages[read]!, connection);
      if (ended || this.stopped) break;
      await sleep(10);
    }
    client.close();
    connection.endedAt = Date.now();
  }

  private take(message: { id?: string; event: string; data: string }, connection: TailConnection): void {
    if (message.event === 'close') {
      connection.closeReason = (JSON.parse(message.data) as { code: string }).code;
      return;
    }
    const event = JSON.parse(message.data) as { eventId: string; globalPosition: number };
    this.received.push({ eventId: event.eventId, globalPosition: event.globalPosition, at: Date.now() });
    connection.events++;
    this.lastEventId = message.id;
  }
}
