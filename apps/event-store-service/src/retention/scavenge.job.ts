import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EventStore, type ScavengeResult } from '@game-bot/event-store';
import { SCAVENGE_SETTINGS, type ScavengeSettings } from './scavenge-settings.js';

/** The job's name in the `SchedulerRegistry`. */
export const SCAVENGE_JOB = 'event-store.scavenge';

/** What the job has done since the process started, and its own failures. */
export interface ScavengeJobStats {
  runs: number;
  eventsRemoved: number;
  linksRemoved: number;
  snapshotsRemoved: number;
  /** Runs that failed themselves (e.g. the database was down); `@nestjs/schedule` would only log them. */
  failures: number;
  lastError: string | null;
  lastRunAt: Date | null;
}

/**
 * Runs `store.scavenge()` every `EVENT_STORE_SCAVENGE_INTERVAL_SECONDS` (off when 0, the default),
 * registered with `@nestjs/schedule`'s `SchedulerRegistry` (the interval is configuration, which
 * the `@Interval` decorator cannot take). A run is skipped while the previous one is still going,
 * and counts and logs its own failures. Several instances may run it at once: each batch deletes
 * only what is expired when it runs, skipping what another holds, so the outcome is the same.
 * At shutdown a run stops at its next batch boundary, before the store closes its pool.
 */
@Injectable()
export class ScavengeJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ScavengeJob.name);
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** What it has done since the process started. */
  readonly stats: ScavengeJobStats = {
    runs: 0,
    eventsRemoved: 0,
    linksRemoved: 0,
    snapshotsRemoved: 0,
    failures: 0,
    lastError: null,
    lastRunAt: null,
  };

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(SchedulerRegistry) private readonly scheduler: SchedulerRegistry,
    @Inject(SCAVENGE_SETTINGS) private readonly settings: ScavengeSettings,
  ) {}

  onApplicationBootstrap(): void {
    if (this.settings.intervalSeconds === 0) {
      return;
    }
    const timer = setInterval(() => void this.run(), this.settings.intervalSeconds * 1000);
    this.scheduler.addInterval(SCAVENGE_JOB, timer);
    this.logger.log(`Scavenging streams past their retention every ${this.settings.intervalSeconds} s`);
  }

  /** One run, unless the previous one is still going (then it resolves when that one ends). */
  async run(): Promise<void> {
    this.running ??= this.scavenge().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.scheduler.doesExist('interval', SCAVENGE_JOB)) {
      this.scheduler.deleteInterval(SCAVENGE_JOB);
    }
    this.stopping.abort();
    await this.running;
  }

  private async scavenge(): Promise<void> {
    if (this.stopping.signal.aborted) {
      return;
    }
    try {
      const result = await this.store.scavenge({ batchSize: this.settings.batchSize, signal: this.stopping.signal });
      this.record(result);
    } catch (error) {
      this.stats.failures++;
      this.stats.lastError = String(error);
      this.logger.warn(`Scavenging failed (${this.stats.failures} failed run(s) so far): ${String(error)}`);
    } finally {
      this.stats.runs++;
      this.stats.lastRunAt = new Date();
    }
  }

  private record(result: ScavengeResult): void {
    this.stats.eventsRemoved += result.eventsRemoved;
    this.stats.linksRemoved += result.linksRemoved;
    this.stats.snapshotsRemoved += result.snapshotsRemoved;
    const removed = result.eventsRemoved + result.linksRemoved + result.snapshotsRemoved;
    const line = `Scavenged ${result.streamsScanned} stream(s): removed ${result.eventsRemoved} event(s), ${result.linksRemoved} link(s), ${result.snapshotsRemoved} snapshot(s)`;
    if (removed > 0) this.logger.log(line);
    else this.logger.debug(line);
  }
}
