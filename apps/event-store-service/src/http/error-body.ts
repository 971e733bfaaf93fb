/** The body of every error response of the service. */
export interface ErrorBody {
  statusCode: number;
  /** Stable code: one of the store's (PRODUCT.md), or `ROUTE_NOT_FOUND` / `HTTP_ERROR` for the HTTP layer's own. */
  code: string;
  message: string;
  details: Record<string, unknown>;
}
