import { Logger } from '@nestjs/common';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * Runs in a Node process of its own. Its stdin is a pipe whose only writer is the process that
 * started the server; the kernel closes that end when the process exits, however it dies
 * (SIGKILL, a crash, an `exit()` with no shutdown hooks). End of input therefore means "the owner
 * is gone": the watchdog asks the postmaster for a fast shutdown (SIGINT: sessions are ended, data
 * is kept) and exits.
 */
const WATCHDOG_SCRIPT = `
process.stdin.on('close', () => {
  try { process.kill(Number(process.argv[1]), 'SIGINT'); } catch {}
  process.exit(0);
});
process.stdin.resume();
`;

/**
 * Stops the embedded postmaster when the process that started it dies without stopping it.
 *
 * Why a separate process: the postmaster runs in a session of its own (so that Ctrl-C reaches only
 * the app), so nothing the kernel does to the app's process group reaches it, and Node cannot ask
 * the kernel for a parent-death signal (`PR_SET_PDEATHSIG`, which a change of user would clear
 * anyway). A pipe held open by the owner is the one signal that survives SIGKILL. The watchdog is
 * detached too, so the Ctrl-C meant for the app does not end it first.
 *
 * The owner ends the watchdog before stopping the postmaster, and as soon as the postmaster exits
 * on its own, so the watchdog never signals a process id that may have been reused.
 */
export class EmbeddedPostgresWatchdog {
  private static readonly logger = new Logger(EmbeddedPostgresWatchdog.name);

  private constructor(private readonly child: ChildProcess) {}

  /** Starts watching over the postmaster `pid` on behalf of this process. */
  static start(pid: number): EmbeddedPostgresWatchdog {
    const child = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT, String(pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: withoutNodeOptions(),
    });
    child.on('error', (error) => {
      EmbeddedPostgresWatchdog.logger.warn(
        `No watchdog for the embedded PostgreSQL (${error.message}): it will outlive this process if it is killed`,
      );
    });
    // The watchdog must not keep the host alive: the host's exit is what it waits for.
    child.unref();
    (child.stdin as Socket | null)?.unref();
    return new EmbeddedPostgresWatchdog(child);
  }

  /** Ends the watchdog (the owner stops the postmaster itself) and waits until it has exited. */
  async end(): Promise<void> {
    const child = this.child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      return;
    }
    // Referenced again so that the host waits for the exit rather than ending first.
    child.ref();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** The host's environment without NODE_OPTIONS: its loaders and flags are not meant for this script. */
function withoutNodeOptions(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}
