/** Limits past which the readiness checks report `down`. */
export interface HealthThresholds {
  /**
   * Longest wait for the whole readiness answer, ms: the checks run side by side and each one
   * that has not answered by then reports `down` ("did not answer within N ms").
   */
  readyTimeoutMs: number;
  /** Database ping timeout, ms (at most `readyTimeoutMs` in effect). */
  databaseTimeoutMs: number;
  /** Most events a persistent subscription may be behind. */
  maxSubscriptionLag: number;
  /** Most failed (not yet dead) deliveries across subscriptions. */
  maxFailedDeliveries: number;
  /** Most seconds an open transaction may hold `$all` readers back. */
  maxVisibilityLagSeconds: number;
}
