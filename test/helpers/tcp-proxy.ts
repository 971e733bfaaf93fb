import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the test PostgreSQL, so a test can make the database unreachable
 * (`cut`: existing connections reset, new ones refused), unresponsive (`blackhole`: connections
 * accepted, nothing answered), slow (`delayReplies`) and reachable again (`restore`) without
 * stopping a shared server.
 */
export class TcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private mode: 'forward' | 'blackhole' = 'forward';
  /** Delay of the server's replies, in milliseconds. */
  private replyDelayMs = 0;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on 127.0.0.1 (a free port the first time, the same one after a cut). */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  /** Resets every open connection and refuses new ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.sockets.forEach((socket) => socket.destroy());
    this.sockets.clear();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Accepts connections but never answers them. */
  blackhole(): void {
    this.mode = 'blackhole';
  }

  /** Holds every reply of the server back this long (in order), as a congested network would. */
  delayReplies(ms: number): void {
    this.replyDelayMs = ms;
  }

  /** Forwards again, on the same port, without delay. */
  async restore(): Promise<void> {
    this.mode = 'forward';
    this.replyDelayMs = 0;
    if (!this.server) {
      await this.start();
    }
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.cut();
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.mode === 'blackhole') {
      return;
    }
    const upstream = createConnection(this.target);
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (this.replyDelayMs === 0) {
        client.write(chunk);
      } else {
        setTimeout(() => client.writable && client.write(chunk), this.replyDelayMs);
      }
    });
    upstream.on('end', () => setTimeout(() => client.end(), this.replyDelayMs));
  }
}
