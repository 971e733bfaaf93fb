import { spawn, type ChildProcess } from 'node:child_process';

/** The compiled projection process (test/helpers/projection-process.ts): `npx tsc -p tsconfig.build.json` builds it. */
export const PROJECTION_PROCESS = 'dist/test/helpers/projection-process.js';

/** A line a projection process printed: an event it handled (in a live batch or a rebuild's), or a rebuild's report. */
export interface ProjectionLine {
  pid: number;
  position?: number;
  batch?: number;
  index?: number;
  /** Whether the event was handled into a rebuild's tables. */
  rebuild?: boolean;
  progress?: { phase: string; processed: number; total: number; generation: number };
  rebuilt?: { generation: number; processed: number; checkpoint: number };
  /** When the test process read it (`Date.now()`). */
  at: number;
}

/**
 * Starts a projection process on `schema` with `env` (PROJECTION, TABLE_PREFIX, STREAM_PREFIX,
 * BATCH_SIZE, DELAY_MS, REBUILD: see the process's file), collecting its lines into `lines`;
 * resolves once it has started. Its own log lines (warnings, errors) go to this process's stderr.
 */
export function startProjectionProcess(schema: string, env: Record<string, string>, lines: ProjectionLine[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [PROJECTION_PROCESS], {
    env: { ...process.env, EVENT_STORE_SCHEMA: schema, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => code !== null && code !== 0 && reject(new Error(`projection process exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const text of parts) {
        if (!text.startsWith('{')) {
          process.stderr.write(`${text}\n`);
          continue;
        }
        const line = JSON.parse(text) as ProjectionLine & { ready?: boolean };
        if (line.ready) resolve(child);
        else lines.push({ ...line, at: Date.now() });
      }
    });
  });
}

/** Stops a projection process: SIGTERM (its leases handed back) or SIGKILL; resolves once it has exited. */
export async function stopProjectionProcess(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
