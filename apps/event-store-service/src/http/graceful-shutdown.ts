import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';

/** Injection token of the shutdown grace period (ms). */
export const SHUTDOWN_GRACE_MS = Symbol('shutdown-grace-ms');

/**
 * Graceful shutdown of the HTTP side. When the app closes: stop listening at once (requests on
 * kept-alive connections get 503, see `return503OnClosing`), let event streams and subscriptions
 * stop (their own destroy hooks), wait for the requests in flight for up to the grace period, and
 * only then let the store close its pool and the embedded database.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private inFlight = 0;
  private idle?: () => void;

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(SHUTDOWN_GRACE_MS) private readonly graceMs: number,
  ) {}

  /** A request has started (see `requestLifecycle`). */
  requestStarted(): void {
    this.inFlight += 1;
  }

  /** A request has ended: answered, or its client gone. */
  requestEnded(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idle?.();
  }

  /** Stops accepting connections before anything else closes. */
  onModuleDestroy(): void {
    this.server()?.close();
  }

  /** Waits for the requests in flight, then cuts whatever is left. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.inFlight > 0) {
      this.logger.log(`Waiting up to ${this.graceMs} ms for ${this.inFlight} request(s) in flight`);
      const finished = await this.allFinished();
      if (!finished) this.logger.warn(`${this.inFlight} request(s) still in flight after ${this.graceMs} ms: closing their connections`);
    }
    this.server()?.closeAllConnections();
  }

  private allFinished(): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), this.graceMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private server(): Server | undefined {
    return this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
  }
}
