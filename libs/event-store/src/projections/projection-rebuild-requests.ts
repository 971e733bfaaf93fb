import { Logger } from '@nestjs/common';
import { describe, ProjectionLeaseLost } from './projection-signals.js';
import type { ProjectionsRepository } from './projections.repository.js';

/** How often a process that runs projections looks for rebuild requests: one statement for all of them. */
export const REBUILD_REQUEST_POLL_MS = 1_000;

/** What the requests need of the projection manager. */
export interface RebuildRequestHost {
  /** The projections this process can rebuild now: started here, created, not being rebuilt here. */
  rebuildable(): string[];
  /** Rebuilds one, as `store.rebuildProjection` does. */
  rebuild(name: string): Promise<unknown>;
  /** Whether the store is shutting down (a rebuild it stopped leaves its request pending). */
  closing(): boolean;
}

/**
 * Takes up the rebuild requests (`store.requestProjectionRebuild`, `event-store projections
 * rebuild NAME`) of the projections this process runs. The command line cannot rebuild a
 * projection itself (its handler lives in the application), so it records a request in the
 * projection's row; every second, one statement finds the requests this process should answer (it
 * holds the projection's lease, or nobody does) and the rebuild runs here, by the same path as
 * `rebuildProjection`. The request stays pending until the switch clears it, so a rebuild whose
 * process dies is taken up again by the next process that runs the projection; a rebuild that
 * gives up (its handler kept failing) clears it and records why, so that it is not tried forever.
 */
export class ProjectionRebuildRequests {
  private readonly logger = new Logger(ProjectionRebuildRequests.name);
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly repository: ProjectionsRepository,
    /** This process's lease owner id. */
    private readonly owner: string,
    private readonly host: RebuildRequestHost,
  ) {}

  /** Starts looking (once; again after {@link stop} does nothing). */
  start(): void {
    if (this.timer === undefined && !this.stopped) this.schedule();
  }

  /** Stops looking; rebuilds under way are the manager's to stop. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.look(), REBUILD_REQUEST_POLL_MS).unref();
  }

  private async look(): Promise<void> {
    try {
      const requests = await this.repository.pendingRebuildRequests(this.host.rebuildable(), this.owner);
      for (const request of requests) {
        if (!this.stopped) this.takeUp(request.name, request.requestedAt);
      }
    } catch (error) {
      this.logger.debug(`Could not look for rebuild requests: ${describe(error)}`);
    } finally {
      if (!this.stopped) this.schedule();
    }
  }

  private takeUp(name: string, requestedAt: Date): void {
    this.logger.log(`A rebuild of projection '${name}' was requested (${requestedAt.toISOString()}): rebuilding it in this process`);
    void this.host.rebuild(name).catch((error: unknown) => this.gaveUp(name, requestedAt, error));
  }

  /**
   * A requested rebuild that did not switch: one stopped by a shutdown or that lost its lease
   * leaves the request pending for the next try (here or in another process), and so does one
   * that found another process's rebuild under way (that one answers it); otherwise the request
   * is cleared with the error.
   */
  private async gaveUp(name: string, requestedAt: Date, error: unknown): Promise<void> {
    if (this.host.closing() || error instanceof ProjectionLeaseLost) return;
    const row = await this.repository.find(name).catch(() => undefined);
    if (row === undefined || row.rebuild_active) return;
    this.logger.error(`The requested rebuild of projection '${name}' gave up (${describe(error)}); the request is cleared`);
    await this.repository.failRebuildRequest(name, requestedAt, describe(error)).catch((failure: unknown) => {
      this.logger.warn(`Could not clear the request (${describe(failure)}); it is tried again`);
    });
  }
}
