/**
 * `@game-bot/event-store/http`: the store's errors over HTTP, for host apps that serve the store
 * (or their own routes over it): the exception filter, the code → status table and the body.
 */
export { EventStoreExceptionFilter } from './event-store-exception.filter.js';
export { EVENT_STORE_ERROR_STATUS, errorBodyOf } from './error-status.js';
export type { ErrorBody } from './error-body.js';
