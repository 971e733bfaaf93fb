/** What the store reports as it works, for metrics. Every method is optional. */
export interface EventStoreObserver {
  /** An append committed (`events` stored, or re-confirmed for an idempotent re-send). */
  appended?(durationMs: number, events: number): void;
  /** A read returned (`kind`: `stream` or `all`). */
  read?(kind: 'stream' | 'all', durationMs: number, events: number): void;
  /** A subscription's handler call ended: `handled`, `retried` (it will be tried again), `failed` (gave up). */
  delivered?(subscription: string, outcome: 'handled' | 'retried' | 'failed'): void;
}
