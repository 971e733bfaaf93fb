import type { ConnectionError } from 'fastify';
import type { ErrorBody } from '@game-bot/event-store/http';
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpSettings } from '../configuration/service-config.js';

/**
 * Answers what Node refuses before a request exists for Fastify (a garbage request line, bad bytes
 * in the URL, headers past `maxHeaderSize`, a request not received within its timeouts): Fastify's
 * own handler answers in its shape, this one with the error body of every other answer. The
 * parser cannot go on from such an error, so the connection is closed after the answer, as Node
 * does. Nothing is logged: the fault is the client's, and anyone could fill the logs with it.
 */
export function createClientErrorHandler(
  settings: Pick<HttpSettings, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): (error: ConnectionError, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) {
      return; // the client is gone: nobody to answer
    }
    // A connection that never sent a byte asked nothing, and an answer already begun cannot take another.
    if (socket.writable && socket.bytesRead > 0 && !answerStarted(socket)) {
      socket.write(rawResponse(clientErrorBody(error, settings)));
    }
    socket.destroy();
  };
}

function clientErrorBody(error: ConnectionError, settings: Pick<HttpSettings, 'headersTimeoutMs' | 'requestTimeoutMs'>): ErrorBody {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      statusCode: 408,
      code: 'HTTP_ERROR',
      message: `The request was not received in time: its headers must come within ${settings.headersTimeoutMs} ms (HTTP_HEADERS_TIMEOUT_MS) and all of it within ${settings.requestTimeoutMs} ms (HTTP_REQUEST_TIMEOUT_MS)`,
      details: { headersTimeoutMs: settings.headersTimeoutMs, requestTimeoutMs: settings.requestTimeoutMs },
    };
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return {
      statusCode: 431,
      code: 'HTTP_ERROR',
      message: `The request line and headers are larger than ${maxHeaderSize} bytes: send fewer or smaller headers`,
      details: { limitBytes: maxHeaderSize },
    };
  }
  return {
    statusCode: 400,
    code: 'INVALID_ARGUMENT',
    message: `The request is not valid HTTP/1.1 (${error.code}): check its request line, URL and headers`,
    details: {},
  };
}

function rawResponse(body: ErrorBody): string {
  const json = JSON.stringify(body);
  return [
    `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Connection: close',
    '',
    json,
  ].join('\r\n');
}

/** Whether the response of the socket's current request has sent its headers (Node's own check, on the same field). */
function answerStarted(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true;
}
