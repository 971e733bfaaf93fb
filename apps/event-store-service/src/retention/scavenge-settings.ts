/** How the service runs the scavenger of retention (docs/retention.md). */
export interface ScavengeSettings {
  /** Seconds between runs (`EVENT_STORE_SCAVENGE_INTERVAL_SECONDS`); 0: never (the default). */
  intervalSeconds: number;
  /** Events removed per transaction (`EVENT_STORE_SCAVENGE_BATCH_SIZE`, default 500). */
  batchSize: number;
}

/** Injection token of the {@link ScavengeSettings}. */
export const SCAVENGE_SETTINGS = Symbol('scavenge-settings');
