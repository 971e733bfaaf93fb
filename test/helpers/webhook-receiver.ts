import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  /** The status the receiver answered. */
  status: number;
  /** The TCP connection it came on: an index into `connections`. */
  connection: number;
}

/** One TCP connection the receiver accepted: when, and when it closed. */
export interface ReceiverConnection {
  openedAt: number;
  closedAt?: number;
}

/** An HTTP server standing in for a webhook target: records every request, answers as told. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Every connection so far, in the order they came (a sender that dies closes its own at once). */
  connections: ReceiverConnection[];
  /** The status for the next request (default 200 for each). */
  answer: (request: ReceivedWebhook) => number;
  /** The bodies of the requests answered 2xx, parsed. */
  accepted<T = Record<string, unknown>>(): T[];
  close(): Promise<void>;
}

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    connections: [],
    answer: () => 200,
    accepted: <T>() => receiver.received.filter((hit) => hit.status < 300).map((hit) => JSON.parse(hit.body) as T),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const connectionOf = new WeakMap<object, number>();
  const server = http.createServer((request, response) => {
    const connection = connectionOf.get(request.socket) ?? -1;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const hit: ReceivedWebhook = {
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
        connection,
      };
      hit.status = receiver.answer(hit);
      receiver.received.push(hit);
      response.writeHead(hit.status).end();
    });
  });
  server.on('connection', (socket) => {
    const entry: ReceiverConnection = { openedAt: Date.now() };
    connectionOf.set(socket, receiver.connections.push(entry) - 1);
    socket.once('close', () => (entry.closedAt = Date.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
