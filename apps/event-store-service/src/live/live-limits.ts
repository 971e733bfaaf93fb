/** How the service treats Server-Sent Events connections. */
export interface LiveLimits {
  /** A comment line is sent this often, so that proxies and clients see the connection is alive. */
  heartbeatMs: number;
  /** Bytes a connection may have waiting to be sent before the server stops writing to it. */
  maxBufferedBytes: number;
  /** How long a connection with a full buffer may go without reading before it is closed. */
  slowClientTimeoutMs: number;
  /** Open event streams this instance accepts (each is a subscription reading the store). */
  maxConnections: number;
}

/** Injection token of the {@link LiveLimits}. */
export const LIVE_LIMITS = Symbol('live-limits');
