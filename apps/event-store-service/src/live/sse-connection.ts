import type { Request, Response } from 'express';
import type { LiveLimits } from './live-limits.js';

/** Why the server ends an event stream: sent as the last SSE event, named `error`. */
export interface CloseReason {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * One Server-Sent Events response. Events are written as they come; once more than
 * `maxBufferedBytes` wait to be sent, the writer (the subscription's handler) waits for the client
 * to read, so a slow client slows its own subscription. A client that reads nothing for
 * `slowClientTimeoutMs` with a full buffer is disconnected with a reason: the server's memory per
 * client stays bounded by the buffer, whatever the client does.
 */
export class SseConnection {
  private ended = false;

  private heartbeat?: NodeJS.Timeout;
  private resolveClosed!: () => void;
  /** Settles once the response has ended, whoever ended it. */
  readonly closed: Promise<void>;

  constructor(
    private readonly request: Request,
    private readonly response: Response,
    private readonly limits: LiveLimits,
    /** Called once, with the reason's code, or `CLIENT_GONE` when the client left first. */
    private readonly onEnd: (reason: string) => void,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Sends the headers; until then an error can still be answered as a plain JSON response. */
  start(): void {
    this.response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // nginx would otherwise hold events back
    });
    this.response.write(': connected\n\n');
    this.request.socket.setNoDelay(true);
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
    this.response.once('close', () => {
      if (!this.ended) this.onEnd('CLIENT_GONE');
      this.ended = true;
      clearInterval(this.heartbeat);
      this.resolveClosed();
    });
  }

  /** Whether the response is still open. */
  get open(): boolean {
    return !this.ended;
  }

  /** Sends one event with its SSE `id`; waits while the client's buffer is full. */
  async send(id: number, data: unknown): Promise<void> {
    if (this.ended) return;
    this.response.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
    if (this.response.writableLength >= this.limits.maxBufferedBytes) {
      await this.waitForClient();
    }
  }

  /** Sends `reason` as an `error` event and ends the response. */
  close(reason: CloseReason): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(reason.code);
    clearInterval(this.heartbeat);
    this.response.end(`event: error\ndata: ${JSON.stringify({ details: {}, ...reason })}\n\n`);
  }

  private async waitForClient(): Promise<void> {
    const waiting = this.response.writableLength;
    if (!(await this.drained())) {
      this.close({
        code: 'SLOW_CONSUMER',
        message: `The client read nothing for ${this.limits.slowClientTimeoutMs} ms while its buffer was full (${waiting} bytes): reconnect with Last-Event-ID to resume`,
        details: { bufferedBytes: waiting, maxBufferedBytes: this.limits.maxBufferedBytes },
      });
      // A client that still reads nothing never sees the reason; its buffer must not outlive it.
      setTimeout(() => this.response.destroy(), this.limits.slowClientTimeoutMs).unref();
    }
  }

  /** True once the client has read the buffer, false after `slowClientTimeoutMs` (or a close) without it. */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        this.response.off('drain', onDrain).off('close', onClose);
        resolve(value);
      };
      const onDrain = (): void => finish(true);
      const onClose = (): void => finish(false);
      const timer = setTimeout(onClose, this.limits.slowClientTimeoutMs);
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
