/** What one scavenge did (`store.scavenge`). */
export interface ScavengeResult {
  /** Streams with retention metadata that were gone through to the end. */
  streamsScanned: number;
  /** Events deleted for good: their places in `$all` are kept, so cursors at them stay valid. */
  eventsRemoved: number;
  /** Places of streams that linked other streams' events, deleted (the linked events stay). */
  linksRemoved: number;
  /** Snapshots dropped because they were taken below the first version reads return. */
  snapshotsRemoved: number;
  /** `true` when the signal stopped it at a batch boundary: what is done stays done; a new run resumes. */
  interrupted: boolean;
}
