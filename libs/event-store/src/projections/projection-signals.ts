import type { RecordedEvent } from '../types/event-data.js';

/**
 * A batch's fence found the projection no longer this run's (another process took the lease, a
 * rebuild switched the tables, a halt): the batch was rolled back, and the run takes the
 * projection again (from the stored checkpoint) or stands by.
 */
export class ProjectionLeaseLost extends Error {
  override readonly name = 'ProjectionLeaseLost';
}

/** The run was stopped (shutdown) in the middle of a batch: the batch was rolled back. */
export class ProjectionStopped extends Error {
  override readonly name = 'ProjectionStopped';
}

/** An event kept failing past its retries; everything before it was applied (`checkpoint`). */
export class ProjectionEventFailed extends Error {
  override readonly name = 'ProjectionEventFailed';

  constructor(
    readonly event: RecordedEvent,
    readonly failure: unknown,
    readonly attempts: number,
    /** The checkpoint after the events before it: the halt is written there. */
    readonly checkpoint: number,
  ) {
    super(
      `event ${event.eventId} (${event.eventType}, ${event.streamId}@${event.streamVersion}, position ${event.globalPosition}) failed ${attempts} time(s): ${describe(failure)}`,
      {
        cause: failure,
      },
    );
  }
}

/** Whether `error` is one of the runs' own signals rather than a failure of a handler. */
export function isProjectionSignal(error: unknown): boolean {
  return error instanceof ProjectionLeaseLost || error instanceof ProjectionStopped || error instanceof ProjectionEventFailed;
}

/** An error's message, or its text. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
