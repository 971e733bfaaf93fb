/** The body of every error answer over HTTP: `{ statusCode, code, message, details }`. */
export interface ErrorBody {
  /** The HTTP status. */
  statusCode: number;
  /** The stable code to switch on: one of `EventStoreErrorCode`, or the host app's own. */
  code: string;
  /** What went wrong and what to do next, for people. */
  message: string;
  /** Machine-readable particulars (e.g. `expectedVersion` and `actualVersion` of a conflict). */
  details: Record<string, unknown>;
}
