/** What a run of failed-delivery retries got done. */
export interface RetryReport {
  /** Deliveries tried again. */
  retried: number;
  /** Of those, the ones the handler now took. */
  succeeded: number;
  /** Of those, the ones that reached their last attempt and were dead-lettered. */
  deadLettered: number;
}
