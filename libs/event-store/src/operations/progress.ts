/** How far a long operation (export, import, verify, scavenge, ...) has come. */
export interface OperationProgress {
  /** Items done so far (events exported, imported, checked, removed, ...). */
  readonly done: number;
  /** Items in all, when known before the end (a count taken at the start); `undefined` otherwise. */
  readonly total: number | undefined;
}

/** Told of progress after each batch; it must not throw. */
export type ProgressListener = (progress: OperationProgress) => void;

/** Options every long operation takes. */
export interface LongOperationOptions {
  /** Told of progress after each batch. */
  onProgress?: ProgressListener;
  /**
   * Stops the operation at the next batch boundary: what is done stays done (each batch commits on
   * its own), the result says `interrupted: true`, and running the operation again resumes.
   */
  signal?: AbortSignal;
}
