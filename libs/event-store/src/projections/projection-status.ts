import type { AllFilter } from '../types/read-options.js';
import type { ProjectionTables } from './projection-handler.js';

/**
 * Where a projection stands, across every process: `running` (a process holds its lease),
 * `standby` (none does now: no process runs it, or one is about to take over), `halted` (stopped
 * at a failing event until `resumeProjection` or a restart), `rebuilding` (a rebuild is under way;
 * the current read model keeps being served and updated meanwhile), `failed` (it could not be
 * created: its `createTables` or its row failed, `lastError` says why; it does not run until
 * `resumeProjection` or a restart tries again).
 */
export type ProjectionState = 'running' | 'standby' | 'halted' | 'rebuilding' | 'failed';

/** A failure of a projection's handler, and the event it failed on. */
export interface ProjectionError {
  message: string;
  /** When the attempt failed. */
  at: Date;
  /** Attempts made at the event so far. */
  attempts: number;
  eventId: string | null;
  globalPosition: number | null;
  streamId: string | null;
  streamVersion: number | null;
  eventType: string | null;
}

/** A rebuild in progress, or left behind by a process that died while rebuilding. */
export interface ProjectionRebuildStatus {
  /** The generation of tables it builds (`<table>__r<generation>`). */
  generation: number;
  /** Whether its process still holds its lease; `false`: it died, and the next rebuild starts over. */
  active: boolean;
  owner: string | null;
  /** Events replayed so far. */
  processed: number;
  /** Events to replay, as counted when it began (more may come meanwhile). */
  total: number;
  /** The `$all` cursor it has replayed to. */
  position: number;
  startedAt: Date | null;
}

/** What `store.projectionStatus(name)` and `listProjections()` report. */
export interface ProjectionStatus {
  name: string;
  status: ProjectionState;
  /** The `$all` cursor (a global position) of the last event the read model reflects; 0 before any. */
  checkpoint: number;
  /**
   * Events of the projection's filter that `$all` shows after the checkpoint: a count of events,
   * not a distance of positions (positions are not in `$all` order); counted up to 1,000,000.
   */
  lag: number;
  /** The process holding the lease (`host:pid:tag`), while it is valid. */
  owner: string | null;
  /** The latest failure of its handler (kept after it was retried away or resumed, until the next one). */
  lastError: ProjectionError | null;
  /** While halted: the event it stopped at (the first one not applied). */
  failedEvent: { eventId: string; globalPosition: number } | null;
  /** The read model's tables (logical name → table). */
  tables: ProjectionTables;
  filter: AllFilter;
  /** How many times it was rebuilt (the generation of its tables); 0 for the tables first created. */
  generation: number;
  rebuild: ProjectionRebuildStatus | null;
  /**
   * When a rebuild was requested (`requestProjectionRebuild`, `event-store projections rebuild`)
   * and not yet answered: the process running the projection takes it up within a second, and the
   * switch clears it. `null` when none is pending.
   */
  rebuildRequestedAt: Date | null;
  /** Why the last requested rebuild gave up (its handler kept failing), until the next request or switch. */
  rebuildError: { message: string; at: Date } | null;
  updatedAt: Date;
}

/** A rebuild's progress, reported after each batch. */
export interface RebuildProgress {
  name: string;
  generation: number;
  /** `replaying` into the fresh tables; `switched` once they replaced the old ones. */
  phase: 'replaying' | 'switched';
  /** Events replayed so far. */
  processed: number;
  /** Events to replay, as counted when the rebuild began (more may come meanwhile). */
  total: number;
  /** The `$all` cursor replayed to. */
  position: number;
}

/** Options of `store.rebuildProjection`. */
export interface RebuildOptions {
  /** Called after each batch and once switched; an error it throws is logged, not raised. */
  onProgress?: (progress: RebuildProgress) => void;
}

/** What a finished rebuild did. */
export interface RebuildResult {
  name: string;
  generation: number;
  /** Events replayed in all. */
  processed: number;
  /** The checkpoint the rebuilt read model started from. */
  checkpoint: number;
}

/** Options of `store.requestProjectionRebuild`. */
export interface RebuildRequestOptions {
  /** Wait until the rebuild has switched (or failed). Default `false`: resolve once the request is recorded. */
  wait?: boolean;
  /**
   * While waiting: how long (ms) the request may wait for a process to take it up, counted again
   * whenever a rebuild that was under way stops without switching (its process died). Past it
   * the request is withdrawn and the call rejects with `TIMEOUT`. Default: no limit.
   */
  startTimeoutMs?: number;
  /** While waiting: told where the request stands after each look at it; an error it throws is ignored. */
  onProgress?: (progress: RebuildRequestProgress) => void;
  /** Stops the waiting, not the rebuild: the call resolves with `interrupted: true`. */
  signal?: AbortSignal;
  /** While waiting: how often (ms) the projection's row is read. Default 500. */
  pollIntervalMs?: number;
}

/** Where a requested rebuild stands, as a waiting `requestProjectionRebuild` sees it. */
export interface RebuildRequestProgress {
  name: string;
  /**
   * `requested`: no rebuild has begun yet (`owner` is the process running the projection, which
   * takes the request up within a second, or `null` when none runs it); `replaying` into fresh
   * tables (`owner` is the rebuild's process); `switched` to them.
   */
  phase: 'requested' | 'replaying' | 'switched';
  owner: string | null;
  /** The generation being built (`replaying`) or now served (`requested`, `switched`). */
  generation: number;
  /** Events replayed so far. */
  processed: number;
  /** Events to replay, as counted when the rebuild began (more may come meanwhile). */
  total: number;
  /** The `$all` cursor replayed to. */
  position: number;
}

/** What `store.requestProjectionRebuild` found or waited for. */
export interface RebuildRequestResult {
  name: string;
  /** When the request was recorded (the pending one's time, if one was pending already). */
  requestedAt: Date;
  /** `requested` (no rebuild begun yet), `rebuilding`, or `switched` (the rebuilt model is served). */
  state: 'requested' | 'rebuilding' | 'switched';
  /**
   * `requested`: the process running the projection, which takes the request up within a second
   * (`null` while none does: the request waits for one); `rebuilding`: the rebuild's process.
   */
  owner: string | null;
  /** The generation served now: higher than when requested once switched. */
  generation: number;
  /** The projection's checkpoint now. */
  checkpoint: number;
  /** Whether `signal` stopped the waiting before the switch (the rebuild goes on). */
  interrupted: boolean;
}
