import { connect } from 'node:net';
import type pg from 'pg';

const CANCEL_REQUEST_CODE = 80_877_102;

/** How long sending a cancel request may delay its sender (the cancel's effect is waited for apart). */
const CANCEL_SEND_MS = 250;

/**
 * Asks the server to cancel what one backend is running, with the protocol's CancelRequest: a
 * separate 16-byte message that needs no login and no pooled connection, and that a pooler such as
 * PgBouncer forwards to the right server. Resolves `true` once the receiver has taken the message
 * (it then closes the connection), `false` on an error or after `timeoutMs`. Taking it is not the
 * cancel taking effect: only the cancelled statement's own answer on its connection (`57014`)
 * tells that.
 *
 * The connection stays open until the receiver closes it: PgBouncer forwards the request on a
 * server connection of its own, and drops it if the requester's connection ends first (PostgreSQL
 * reads it at once, so closing early was harmless there). For the same reason the caller keeps the
 * cancelled statement's connection open until this resolves: PgBouncer cancels only for a client
 * still connected to it.
 */
export function sendCancelRequest(
  server: { host: string; port: number },
  backend: { processID?: number | null; secretKey?: number | null },
  timeoutMs: number,
): Promise<boolean> {
  const { processID, secretKey } = backend;
  if (typeof processID !== 'number' || typeof secretKey !== 'number') {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    // A host that is a directory names a Unix socket, as for node-postgres itself.
    const socket = server.host.startsWith('/') ? connect(`${server.host}/.s.PGSQL.${server.port}`) : connect(server.port, server.host);
    const done = (sent: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(sent);
    };
    let written = false;
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('close', () => done(written));
    socket.on('connect', () => {
      const message = Buffer.alloc(16);
      message.writeInt32BE(16, 0);
      message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      message.writeInt32BE(processID, 8);
      message.writeInt32BE(secretKey, 12);
      // Not `end()`: a half-closed connection is an end of the request to PgBouncer.
      socket.write(message, (error) => (written = error === undefined || error === null));
    });
  });
}

/** Sends a CancelRequest for whatever the server runs on `client`'s connection (see {@link sendCancelRequest}). */
export function cancelRunningStatement(client: pg.ClientBase, timeoutMs = CANCEL_SEND_MS): Promise<boolean> {
  const backend = client as unknown as { host: string; port: number; processID?: number | null; secretKey?: number | null };
  return sendCancelRequest({ host: backend.host, port: backend.port }, backend, timeoutMs);
}
