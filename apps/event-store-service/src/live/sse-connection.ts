import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveLimits } from './live-limits.js';

/** Why the server ends an event stream: sent as its last SSE event, named `close`. */
export interface CloseReason {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** How often a connection waiting for its client checks that the client reads. */
const PROGRESS_CHECK_MS = 250;

/**
 * One Server-Sent Events response. Events are written as they come; once more than
 * `maxBufferedBytes` wait to be sent (and the socket asks for a pause), the writer (the
 * subscription's handler) waits for the client to read, so a slow client slows its own
 * subscription. A client that reads nothing for `slowClientTimeoutMs` while it is waited for is
 * disconnected with a reason: the server's memory per client stays bounded by the buffer,
 * whatever the client does.
 */
export class SseConnection {
  private ended = false;
  private heartbeat?: NodeJS.Timeout;
  private resolveClosed!: () => void;
  /** Settles once the response has ended, whoever ended it. */
  readonly closed: Promise<void>;

  constructor(
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly limits: LiveLimits,
    /** Called once, with the reason's code, or `CLIENT_GONE` when the client left first. */
    private readonly onEnd: (reason: string) => void,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Whether the client went away before the stream started (nothing to start then). */
  get abandoned(): boolean {
    return this.request.destroyed || this.response.destroyed || this.response.writableEnded;
  }

  /** Sends the headers; until then an error can still be answered as a plain JSON response. */
  start(): void {
    this.response.once('close', () => {
      if (!this.ended) this.onEnd('CLIENT_GONE');
      this.ended = true;
      clearInterval(this.heartbeat);
      this.resolveClosed();
    });
    this.response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // nginx would otherwise hold events back
    });
    this.response.write(': connected\n\n');
    this.request.socket.setNoDelay(true);
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
  }

  /** Sends one event with its SSE `id`; waits while the client's buffer is full. */
  async send(id: number, data: unknown): Promise<void> {
    if (this.ended) return;
    this.response.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
    // Below the socket's own high-water mark no 'drain' would come: only wait when it asks for one.
    if (this.response.writableNeedDrain && this.response.writableLength >= this.limits.maxBufferedBytes) {
      await this.waitForClient();
    }
  }

  /**
   * Sends `reason` as a `close` event and ends the response. A client that does not read it
   * within `slowClientTimeoutMs` has its connection destroyed: its buffer must not outlive it.
   */
  close(reason: CloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(reason.code);
    clearInterval(this.heartbeat);
    this.response.end(`event: close\ndata: ${JSON.stringify({ details: {}, ...reason })}\n\n`);
    if (!this.response.writableFinished) {
      const destroy = setTimeout(() => this.response.destroy(), this.limits.slowClientTimeoutMs).unref();
      this.response.once('close', () => clearTimeout(destroy));
    }
  }

  private async waitForClient(): Promise<void> {
    const waiting = this.response.writableLength;
    if (!(await this.readsOn())) {
      this.close({
        code: 'SLOW_CONSUMER',
        message: `The client read nothing for ${this.limits.slowClientTimeoutMs} ms while ${waiting} bytes waited for it: reconnect with Last-Event-ID to resume`,
        details: { bufferedBytes: waiting, maxBufferedBytes: this.limits.maxBufferedBytes },
      });
    }
  }

  /**
   * True once the client has read the buffer ('drain'); false when it reads nothing at all for
   * `slowClientTimeoutMs` (a client that reads, however slowly, is waited for) or goes away.
   */
  private readsOn(): Promise<boolean> {
    return new Promise((resolve) => {
      let left = this.response.writableLength;
      let lastProgress = Date.now();
      const check = setInterval(
        () => {
          if (this.response.writableLength < left) {
            left = this.response.writableLength;
            lastProgress = Date.now();
          } else if (Date.now() - lastProgress >= this.limits.slowClientTimeoutMs) {
            finish(false);
          }
        },
        Math.min(PROGRESS_CHECK_MS, this.limits.slowClientTimeoutMs),
      );
      const finish = (value: boolean): void => {
        clearInterval(check);
        this.response.off('drain', onDrain).off('close', onClose);
        resolve(value);
      };
      const onDrain = (): void => finish(true);
      const onClose = (): void => finish(false);
      this.response.once('drain', onDrain).once('close', onClose);
    });
  }

  /** A comment line, unless the buffer is full (the client has plenty to read then). */
  private beat(): void {
    if (!this.ended && this.response.writableLength < this.limits.maxBufferedBytes) {
      this.response.write(': heartbeat\n\n');
    }
  }
}
