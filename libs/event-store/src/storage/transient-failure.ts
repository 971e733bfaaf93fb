/** How a database failure should be handled. */
export type FailureKind =
  /** The connection failed; if the statement had been sent, its outcome is unknown. */
  | 'connection'
  /** The server rolled the work back (deadlock, serialisation, shutting down): safe to retry. */
  | 'rolled-back'
  /** The statement (or waiting for a connection) ran past its limit. */
  | 'timeout'
  /** Malformed data (SQLSTATE class 22): the caller's input. */
  | 'invalid-input'
  | 'other';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// 53200: out of shared memory (the lock table full): the transaction was rolled back; retry later.
const ROLLED_BACK_STATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53200', '53300']);
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error',
  'Client was closed',
  'not queryable',
  'Connection terminated due to connection timeout',
];

/** Classifies an error thrown by node-postgres. */
export function classifyFailure(error: unknown): FailureKind {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code === '57014' || message === 'Query read timeout' || message?.includes('timeout exceeded when trying to connect')) {
    return 'timeout';
  }
  if (code !== undefined && ROLLED_BACK_STATES.has(code)) {
    return 'rolled-back';
  }
  if (
    (code !== undefined && (CONNECTION_CODES.has(code) || code.startsWith('08'))) ||
    CONNECTION_MESSAGES.some((m) => message?.includes(m))
  ) {
    return 'connection';
  }
  if (code?.startsWith('22')) {
    return 'invalid-input';
  }
  return 'other';
}
