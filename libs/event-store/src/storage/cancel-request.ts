import { connect } from 'node:net';

const CANCEL_REQUEST_CODE = 80_877_102;

/**
 * Asks the server to cancel what one backend is running, with the protocol's CancelRequest: a
 * separate 16-byte message that needs no login and no pooled connection, and that a pooler such as
 * PgBouncer forwards to the right server. Best effort: resolves after sending, on error, or after
 * `timeoutMs`.
 */
export function sendCancelRequest(
  server: { host: string; port: number },
  backend: { processID?: number; secretKey?: number },
  timeoutMs: number,
): Promise<void> {
  const { processID, secretKey } = backend;
  if (processID === undefined || secretKey === undefined) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    // A host that is a directory names a Unix socket, as for node-postgres itself.
    const socket = server.host.startsWith('/') ? connect(`${server.host}/.s.PGSQL.${server.port}`) : connect(server.port, server.host);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', done);
    socket.on('connect', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      message.writeInt32BE(processID, 8);
      message.writeInt32BE(secretKey, 12);
      socket.end(message, done);
    });
  });
}
