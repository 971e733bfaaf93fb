import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** The package's `event-store` command, found through the package's name (its workspace link) and `bin`. */
export const CLI = ((): string => {
  const packageDir = realpathSync('node_modules/@game-bot/event-store');
  const { bin } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(packageDir, bin['event-store']!);
})();

/** What one run of the command gave. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface CliRunOptions {
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** Under a pseudo-terminal (util-linux `script`): stdout and stderr then arrive merged, in `stdout`. */
  tty?: boolean;
  /** Standard input. */
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Runs `event-store <args>` as a process, as an operator would, and waits for it to end. */
export function runCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  const [file, argv] = options.tty
    ? ['script', ['-qefc', [process.execPath, CLI, ...args].map(shellQuote).join(' '), '/dev/null']]
    : [process.execPath, [CLI, ...args]];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      argv,
      { env: options.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
