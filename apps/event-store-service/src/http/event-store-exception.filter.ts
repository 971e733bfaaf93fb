import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { HttpServer } from '@nestjs/common';
import { EventStoreError } from '@game-bot/event-store';
import { errorBodyOf, type ErrorBody } from '@game-bot/event-store/http';
import type { IncomingMessage } from 'node:http';
import { bearerChallenge } from '../auth/bearer-credentials.js';
import { ServiceError } from './service-error.js';

/**
 * The one place errors become HTTP responses: the store's errors by their code (the library's
 * table, `@game-bot/event-store/http`), the HTTP layer's
 * own (unknown route, malformed JSON, body too large) and anything unexpected, all with the body
 * `{ statusCode, code, message, details }`.
 */
@Catch()
export class EventStoreExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(EventStoreExceptionFilter.name);

  /**
   * @param http the server's adapter, which writes the answer
   * @param bodyLimitBytes the JSON body limit, named in the error past it
   */
  constructor(
    private readonly http: HttpServer,
    private readonly bodyLimitBytes: number,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response: unknown = host.switchToHttp().getResponse();
    const health = healthReport(exception);
    if (health !== undefined) {
      this.http.reply(response, health, HttpStatus.SERVICE_UNAVAILABLE); // Terminus's own report, with every indicator
      return;
    }
    const request = host.switchToHttp().getRequest<{ id?: string; raw?: IncomingMessage }>();
    const body = this.bodyOf(exception);
    // An upload the client abandoned is no failure of ours: its request line (`completed: false`)
    // says enough, and anyone could flood the logs with stack traces otherwise.
    if (!clientGone(exception, request.raw)) {
      this.logFailure(exception, body, request.id);
    }
    if (body.code === 'UNAUTHORIZED') {
      this.http.setHeader(response, 'WWW-Authenticate', bearerChallenge(request.raw?.headers.authorization));
    }
    this.http.reply(response, body, body.statusCode);
  }

  /** Unexpected failures with their stack, other 5xx in a line; a shutdown's 503s are expected. */
  private logFailure(exception: unknown, body: ErrorBody, requestId: string | undefined): void {
    if (body.code === 'INTERNAL') {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception), { requestId });
    } else if (body.statusCode >= 500 && body.code !== 'SHUTTING_DOWN') {
      this.logger.error(`${body.code}: ${body.message}`, { requestId });
    }
  }

  private bodyOf(exception: unknown): ErrorBody {
    if (exception instanceof EventStoreError) {
      return errorBodyOf(exception);
    }
    if (exception instanceof ServiceError) {
      return { statusCode: exception.statusCode, code: exception.code, message: exception.message, details: exception.details };
    }
    if (exception instanceof HttpException) {
      return this.httpBody(exception); // the router's and the body parser's (the adapter maps the latter)
    }
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, code: 'INTERNAL', message: 'Internal error', details: {} };
  }

  /** A body over the limit, or not JSON, is a malformed request: the contract's 400 INVALID_ARGUMENT. */
  private httpBody(exception: HttpException): ErrorBody {
    const status = exception.getStatus();
    if (status === HttpStatus.PAYLOAD_TOO_LARGE) {
      const message = `The request body is larger than ${this.bodyLimitBytes} bytes (HTTP_BODY_LIMIT_BYTES): send fewer or smaller events per append`;
      return { statusCode: HttpStatus.BAD_REQUEST, code: 'INVALID_ARGUMENT', message, details: { limitBytes: this.bodyLimitBytes } };
    }
    if (status === HttpStatus.UNSUPPORTED_MEDIA_TYPE) {
      const message = 'The body must be JSON, sent with Content-Type: application/json';
      return { statusCode: HttpStatus.BAD_REQUEST, code: 'INVALID_ARGUMENT', message, details: {} };
    }
    const code =
      status === HttpStatus.NOT_FOUND ? 'ROUTE_NOT_FOUND' : status === HttpStatus.BAD_REQUEST ? 'INVALID_ARGUMENT' : 'HTTP_ERROR';
    return { statusCode: status, code, message: exception.message, details: {} };
  }
}

/** Whether `exception` is the client's going away mid-request (Node's `aborted`, a reset), not a failure of ours. */
function clientGone(exception: unknown, request: IncomingMessage | undefined): boolean {
  return (exception as { code?: unknown } | null)?.code === 'ECONNRESET' && request?.destroyed === true;
}

/** The report of a failed Terminus health check, which keeps its standard shape. */
function healthReport(exception: unknown): object | undefined {
  if (!(exception instanceof HttpException) || exception.getStatus() !== HttpStatus.SERVICE_UNAVAILABLE) {
    return undefined;
  }
  const response = exception.getResponse();
  return typeof response === 'object' && response !== null && 'details' in response && 'status' in response ? response : undefined;
}
