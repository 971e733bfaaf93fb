import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventReader } from '../storage/event-reader.js';
import { EventNotifier } from '../subscriptions/event-notifier.js';
import { TransactionRunner } from '../transactions/transaction-runner.js';
import type { AllFilter } from '../types/read-options.js';
import { assertName } from '../validation/stream-id.validation.js';
import { defineProjection } from './projection-definition.js';
import type { ProjectionHandler } from './projection-handler.js';
import type { ProjectionOptions } from './projection.decorator.js';
import { COUNT_CAP, ProjectionRebuild } from './projection-rebuild.js';
import { ProjectionRebuildRequests } from './projection-rebuild-requests.js';
import { ProjectionRebuildWaiter } from './projection-rebuild-waiter.js';
import { ProjectionRunner, type ProjectionParts } from './projection-runner.js';
import type {
  ProjectionError,
  ProjectionStatus,
  RebuildOptions,
  RebuildRequestOptions,
  RebuildRequestResult,
  RebuildResult,
} from './projection-status.js';
import { ProjectionsRepository } from './projections.repository.js';
import type { ProjectionRow } from './sql/projections.sql.js';

/**
 * The projections of this process: starts a runner for each one found at boot, answers their
 * status (from their rows, wherever they run), resumes halted ones, runs rebuilds (asked here, or
 * requested from elsewhere: {@link ProjectionRebuildRequests}), and stops them all when the
 * application shuts down (batches in progress roll back, leases are handed back).
 */
@Injectable()
export class ProjectionManager implements OnModuleDestroy {
  private readonly runners = new Map<string, ProjectionRunner>();
  private readonly rebuilds = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  private readonly parts: ProjectionParts;
  private readonly requests: ProjectionRebuildRequests;
  private closed = false;

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(ProjectionsRepository) repository: ProjectionsRepository,
    @Inject(EventReader) reads: EventReader,
    @Inject(EventNotifier) notifier: EventNotifier,
    @Inject(TransactionRunner) transactions: TransactionRunner,
  ) {
    // Host, pid and a random tag (pids repeat across hosts and restarts).
    const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.parts = { repository, reads, notifier, transactions, owner };
    this.requests = new ProjectionRebuildRequests(repository, owner, {
      rebuildable: () =>
        [...this.runners.values()]
          .filter((runner) => runner.failure === undefined && !this.rebuilds.has(runner.name))
          .map((runner) => runner.name),
      rebuild: (name) => this.rebuild(name),
      closing: () => this.closed,
    });
  }

  /** Starts a projection found at boot; refuses a malformed one or a name declared twice. */
  start(name: string, handler: ProjectionHandler, options: ProjectionOptions): void {
    if (this.runners.has(name)) {
      throw new InvalidArgumentError(`Projection '${name}' is declared twice in this application: give each @Projection its own name`, {
        name,
      });
    }
    const definition = defineProjection(name, handler, options, {
      maxPageSize: this.options.maxPageSize,
      checkFilter: (filter) => this.parts.reads.assertFilter(filter),
    });
    void this.parts.notifier.start();
    this.runners.set(name, new ProjectionRunner(definition, this.parts));
    this.requests.start();
  }

  /** See {@link EventStore.projectionStatus}. */
  async status(name: string): Promise<ProjectionStatus> {
    assertName(name, 'name');
    const row = await this.parts.repository.find(name);
    if (row !== undefined) {
      return this.statusOf(row);
    }
    const runner = this.runners.get(name);
    if (runner === undefined) {
      throw new InvalidArgumentError(`No projection named '${name}': it is created when a process running its @Projection starts`, {
        name,
      });
    }
    return this.notStoredYet(runner);
  }

  /** See {@link EventStore.listProjections}. */
  async list(): Promise<ProjectionStatus[]> {
    const rows = await this.parts.repository.list();
    const stored = new Set(rows.map((row) => row.name));
    const pending = [...this.runners.values()].filter((runner) => !stored.has(runner.name));
    const statuses = await Promise.all([...rows.map((row) => this.statusOf(row)), ...pending.map((runner) => this.notStoredYet(runner))]);
    return statuses.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** See {@link EventStore.resumeProjection}. */
  async resume(name: string): Promise<void> {
    assertName(name, 'name');
    const resumed = await this.parts.repository.resume(name);
    const restarted = this.restartFailed(name);
    if (!resumed && !restarted && (await this.parts.repository.find(name)) === undefined) {
      throw new InvalidArgumentError(`No projection named '${name}'`, { name });
    }
    this.runners.get(name)?.poke();
  }

  /** A runner that could not create its projection (status `failed`) starts over: its createTables is tried again. */
  private restartFailed(name: string): boolean {
    const runner = this.runners.get(name);
    if (runner?.failure === undefined || this.closed) return false;
    this.runners.set(name, new ProjectionRunner(runner.definition, this.parts));
    return true;
  }

  /** See {@link EventStore.rebuildProjection}. */
  async rebuild(name: string, options: RebuildOptions = {}): Promise<RebuildResult> {
    assertName(name, 'name');
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new InvalidArgumentError('onProgress must be a function', { name });
    }
    const runner = this.runners.get(name);
    if (runner === undefined) {
      throw new InvalidArgumentError(
        `Projection '${name}' does not run in this process: rebuild it in a process that has its @Projection provider (the rebuild runs its handler)`,
        { name },
      );
    }
    if (this.rebuilds.has(name)) {
      throw new InvalidArgumentError(`Projection '${name}' is being rebuilt in this process already: await that rebuild`, { name });
    }
    if (this.closed) {
      throw new InvalidArgumentError('The store is shutting down: rebuild on another instance');
    }
    const abort = new AbortController();
    const done = runner.ready.then(() => this.runRebuild(runner, options, abort.signal));
    this.rebuilds.set(name, { abort, done: done.catch(() => undefined) });
    try {
      return await done;
    } finally {
      this.rebuilds.delete(name);
    }
  }

  private async runRebuild(runner: ProjectionRunner, options: RebuildOptions, signal: AbortSignal): Promise<RebuildResult> {
    const owner = `${this.parts.owner}:rebuild:${randomBytes(3).toString('hex')}`;
    const result = await new ProjectionRebuild(runner.definition, this.parts, owner, options, signal).run();
    runner.poke();
    return result;
  }

  /** See {@link EventStore.requestProjectionRebuild}. */
  async requestRebuild(name: string, options: RebuildRequestOptions = {}): Promise<RebuildRequestResult> {
    assertName(name, 'name');
    const { startTimeoutMs, pollIntervalMs } = options;
    for (const [key, value] of Object.entries({ startTimeoutMs, pollIntervalMs })) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
        throw new InvalidArgumentError(`${key} must be a positive integer (milliseconds), got ${String(value)}`, { name });
      }
    }
    const row = await this.parts.repository.requestRebuild(name);
    if (row === undefined) {
      throw new InvalidArgumentError(`No projection named '${name}': it is created when a process running its @Projection starts`, {
        name,
      });
    }
    const waiter = new ProjectionRebuildWaiter(this.parts.repository, row, options);
    return options.wait === true ? waiter.run() : waiter.result(row);
  }

  /** Stops rebuilds (their tables dropped) and runners (leases handed back). */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.requests.stop();
    for (const { abort } of this.rebuilds.values()) abort.abort();
    await Promise.all([...this.rebuilds.values()].map(({ done }) => done));
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
  }

  private async statusOf(row: ProjectionRow): Promise<ProjectionStatus> {
    const checkpoint = Number(row.checkpoint);
    const filter = row.filter as AllFilter;
    return {
      name: row.name,
      status: row.rebuild_active ? 'rebuilding' : row.status === 'halted' ? 'halted' : row.lease_valid ? 'running' : 'standby',
      checkpoint,
      lag: await this.parts.repository.countAfter(checkpoint, filter, COUNT_CAP),
      owner: row.lease_valid ? row.owner : null,
      lastError: errorOf(row.last_error),
      failedEvent:
        row.status === 'halted' && row.failed_event_id !== null
          ? { eventId: row.failed_event_id, globalPosition: Number(row.failed_position) }
          : null,
      tables: row.tables,
      filter,
      generation: row.generation,
      rebuildRequestedAt: row.rebuild_requested_at,
      rebuildError: rebuildErrorOf(row.rebuild_error),
      rebuild:
        row.rebuild_tables === null || row.rebuild_generation === null
          ? null
          : {
              generation: row.rebuild_generation,
              active: row.rebuild_active,
              owner: row.rebuild_owner,
              processed: Number(row.rebuild_processed ?? 0),
              total: Number(row.rebuild_total ?? 0),
              position: Number(row.rebuild_checkpoint ?? 0),
              startedAt: row.rebuild_started_at,
            },
      updatedAt: row.updated_at,
    };
  }

  /** A projection registered here whose row its runner has not created: yet (`standby`), or at all (`failed`, `lastError`). */
  private async notStoredYet(runner: ProjectionRunner): Promise<ProjectionStatus> {
    const { definition } = runner;
    // Read once, before the count's await: a failure arriving meanwhile must not pair a 'standby' with its error.
    const failure = runner.failure;
    return {
      name: definition.name,
      status: failure === undefined ? 'standby' : 'failed',
      checkpoint: 0,
      lag: await this.parts.repository.countAfter(0, definition.filter, COUNT_CAP),
      owner: null,
      lastError: errorOf((failure as unknown as Record<string, unknown> | undefined) ?? null),
      failedEvent: null,
      tables: { ...definition.tables },
      filter: definition.filter,
      generation: 0,
      rebuild: null,
      rebuildRequestedAt: null,
      rebuildError: null,
      updatedAt: new Date(),
    };
  }
}

function rebuildErrorOf(stored: Record<string, unknown> | null): { message: string; at: Date } | null {
  return stored === null ? null : { message: String(stored.message ?? ''), at: new Date(String(stored.at ?? 0)) };
}

function errorOf(stored: Record<string, unknown> | null): ProjectionError | null {
  if (stored === null) return null;
  const text = (key: string): string | null => (typeof stored[key] === 'string' ? (stored[key] as string) : null);
  const number = (key: string): number | null => (typeof stored[key] === 'number' ? (stored[key] as number) : null);
  return {
    message: text('message') ?? '',
    at: new Date(text('at') ?? 0),
    attempts: number('attempts') ?? 0,
    eventId: text('eventId'),
    globalPosition: number('globalPosition'),
    streamId: text('streamId'),
    streamVersion: number('streamVersion'),
    eventType: text('eventType'),
  };
}
