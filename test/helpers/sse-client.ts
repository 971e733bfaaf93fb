import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from './eventually.js';

/** One Server-Sent Events message as a client sees it. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** An event stream read from the service: its messages and comment lines, as they arrive. */
export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  messages: SseMessage[];
  comments: string[];
  /** Whether the server has ended the response. */
  readonly ended: boolean;
  /** The data of the `count` first messages, parsed, once they have come. */
  take<T = Record<string, unknown>>(count: number, timeoutMs?: number): Promise<T[]>;
  /** Stops reading (the socket's buffers fill up), or reads again. */
  pause(): void;
  resume(): void;
  close(): void;
}

/** The base URL of the app's HTTP server, listening on a free port. */
export async function listeningUrl(server: http.Server): Promise<string> {
  if (!server.listening) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Opens `url` as an event stream; resolves once the response headers have come. */
export function openEventStream(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (response) => {
      const client = streamClient(request, response);
      resolve(client);
    });
    request.once('error', reject);
  });
}

function streamClient(request: http.ClientRequest, response: http.IncomingMessage): SseClient {
  let buffer = '';
  let ended = false;
  const client: SseClient = {
    status: response.statusCode ?? 0,
    headers: response.headers,
    messages: [],
    comments: [],
    get ended() {
      return ended;
    },
    async take<T>(count: number, timeoutMs = 10_000): Promise<T[]> {
      await eventually(() => client.messages.length >= count, timeoutMs);
      return client.messages.slice(0, count).map((message) => JSON.parse(message.data) as T);
    },
    pause: () => response.pause(),
    resume: () => response.resume(),
    close: () => request.destroy(),
  };
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      parseBlock(buffer.slice(0, end), client);
      buffer = buffer.slice(end + 2);
    }
  });
  response.once('end', () => (ended = true));
  response.once('close', () => (ended = true));
  response.once('error', () => (ended = true));
  return client;
}

function parseBlock(block: string, client: SseClient): void {
  const message: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      client.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') message.id = value;
    else if (field === 'event') message.event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length > 0) {
    message.data = data.join('\n');
    client.messages.push(message);
  }
}
