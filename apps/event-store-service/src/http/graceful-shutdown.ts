import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { shuttingDown } from './service-error.js';

/** Injection token of the shutdown grace period (ms). */
export const SHUTDOWN_GRACE_MS = Symbol('shutdown-grace-ms');

/** SHUTDOWN_DRAIN_MS's default, until `configureHttp` sets the configured one. */
const DEFAULT_DRAIN_MS = 1_000;

/**
 * Graceful shutdown of the HTTP side. When the app starts to close: stop listening at once, but
 * keep the connections already open for `drainMs`, answering each request on them with 503
 * `SHUTTING_DOWN` and `Connection: close` (see {@link answerWhileClosing}); let event streams and
 * subscriptions stop (their own destroy hooks); wait for the requests in flight for up to the
 * grace period; then close the connections left (idle ones once the drain is over) and only then
 * let the store close its pool and the embedded database.
 *
 * Why connections are kept: Node's `server.close()` also closes the idle kept-alive connections at
 * once, and a request a client sends on one of them at that moment meets a reset instead of an
 * answer. Once a connection has had its 503 with `Connection: close`, its client opens a new one,
 * which is refused, and goes elsewhere.
 */
@Injectable()
export class GracefulShutdown implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(GracefulShutdown.name);
  private inFlight = 0;
  private idle?: () => void;
  private drainMs = DEFAULT_DRAIN_MS;
  private closing?: { drainEnds: number; connectionsClosed: Promise<void> };

  constructor(
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    @Inject(SHUTDOWN_GRACE_MS) private readonly graceMs: number,
  ) {}

  /** How long (ms) connections stay open for requests once the app closes (SHUTDOWN_DRAIN_MS). */
  useDrainPeriod(drainMs: number): void {
    this.drainMs = drainMs;
  }

  /** Whether the app is closing: every request is answered 503 SHUTTING_DOWN. */
  get draining(): boolean {
    return this.closing !== undefined;
  }

  /** A request has started (see `requestLifecycle`). */
  requestStarted(): void {
    this.inFlight += 1;
  }

  /** A request has ended: answered, or its client gone. */
  requestEnded(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idle?.();
  }

  /**
   * Stops accepting connections and starts the drain; once only. Called as the app starts to
   * close (see `ServiceHttpAdapter.onClosing`), and by the destroy hook for an adapter without it.
   */
  stopAccepting(): void {
    if (this.closing !== undefined) return;
    const server = this.server();
    // net.Server's own close: it stops listening and leaves the open connections be (http.Server's
    // closes the idle ones too); its callback comes once the last of them has closed.
    const connectionsClosed = new Promise<void>((resolve) =>
      server === undefined ? resolve() : NetServer.prototype.close.call(server, () => resolve()),
    );
    this.closing = { drainEnds: Date.now() + this.drainMs, connectionsClosed };
  }

  /** Stops accepting connections before anything else closes. */
  onModuleDestroy(): void {
    this.stopAccepting();
  }

  /** Waits for the requests in flight and the drain, then cuts whatever is left. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopAccepting();
    if (this.inFlight > 0) {
      this.logger.log(`Waiting up to ${this.graceMs} ms for ${this.inFlight} request(s) in flight`);
      const finished = await this.allFinished();
      if (!finished) this.logger.warn(`${this.inFlight} request(s) still in flight after ${this.graceMs} ms: closing their connections`);
    }
    await this.drained();
    this.server()?.closeAllConnections();
  }

  /** Settles once every connection has closed, or at the end of the drain. */
  private async drained(): Promise<void> {
    const { drainEnds, connectionsClosed } = this.closing!;
    let timer: NodeJS.Timeout | undefined;
    const drainOver = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainEnds - Date.now())));
    await Promise.race([connectionsClosed, drainOver]);
    clearTimeout(timer);
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

/**
 * Once the app closes, every request is answered 503 `SHUTTING_DOWN` in the contract's error body,
 * and every answer (those of the requests still in flight too) carries `Connection: close`, so
 * that each connection closes right after an answer rather than under a request.
 */
export function answerWhileClosing(fastify: FastifyInstance, shutdown: GracefulShutdown): void {
  fastify.addHook('onRequest', (_request, _reply, done) => {
    if (!shutdown.draining) {
      done();
      return;
    }
    done(shuttingDown());
  });
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (shutdown.draining) void reply.header('Connection', 'close');
    done(null, payload);
  });
}
