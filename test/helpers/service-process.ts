import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** The built service, as `npm run start:prod` runs it. */
export const SERVICE_MAIN = 'dist/apps/event-store-service/src/main.js';

/** How a service process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A service process: everything it printed so far, its end, SIGTERM, and any other signal. */
export interface ServiceProcess {
  pid: number;
  output(): string;
  exited: Promise<Exit>;
  stop(): void;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the built service with `env` (and `NODE_ENV=test` unless given), stdout and stderr collected. */
export function runService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [SERVICE_MAIN], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid ?? 0,
    output: () => output,
    exited,
    stop: () => child.kill('SIGTERM'),
    kill: (signal) => child.kill(signal),
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
