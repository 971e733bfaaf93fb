/** Injection token of the service's {@link HealthThresholds}. */
export const HEALTH_THRESHOLDS = Symbol('HEALTH_THRESHOLDS');
