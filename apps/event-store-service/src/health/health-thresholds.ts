/** Limits past which the readiness checks report `down`. */
export interface HealthThresholds {
  /** Database ping timeout, ms. */
  databaseTimeoutMs: number;
  /** Most events a persistent subscription may be behind. */
  maxSubscriptionLag: number;
  /** Most failed (not yet dead) deliveries across subscriptions. */
  maxFailedDeliveries: number;
  /** Most seconds an open transaction may hold `$all` readers back. */
  maxVisibilityLagSeconds: number;
}
