import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Command } from 'commander';
import type { EventStoreModuleOptions } from '../configuration/event-store-options.interface.js';
import { resolveEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { EventStoreModule } from '../event-store.module.js';
import { EventStore } from '../event-store.service.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import { optionsFromEnvironment } from './cli-environment.js';
import { ProgressReporter } from './progress-reporter.js';

/** The exit code of a command stopped by Ctrl-C (SIGINT) or SIGTERM: what it did stays done, a re-run resumes. */
export const EXIT_INTERRUPTED = 130;

/** Runs `work` on the store's database as the environment names it (no migrations run), then closes it. */
export async function withDatabase<T>(work: (database: EventStoreDatabase) => Promise<T>): Promise<T> {
  const database = await EventStoreDatabase.open(resolveEventStoreOptions(optionsFromEnvironment()), false);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/**
 * Runs `work` on an `EventStore` booted as a host app would boot it (refusing a schema with pending
 * migrations: run `event-store migrate` first), then closes it.
 */
export async function withStore<T>(
  work: (store: EventStore, app: INestApplicationContext) => Promise<T>,
  overrides: Partial<EventStoreModuleOptions> = {},
): Promise<T> {
  const options: EventStoreModuleOptions = { ...optionsFromEnvironment(), migrations: 'check', ...overrides };
  // abortOnError: false hands a boot failure (pending migrations, an unreachable server) to the one-line error of the command.
  const app = await NestFactory.createApplicationContext(EventStoreModule.forRoot(options), {
    logger: ['warn', 'error'],
    abortOnError: false,
  });
  try {
    return await work(app.get(EventStore), app);
  } finally {
    await app.close();
  }
}

/**
 * An abort signal that Ctrl-C (SIGINT) or SIGTERM fires, for a long operation to stop at its next
 * batch boundary (`notice` says so on stderr). A second Ctrl-C exits at once.
 */
export function interruptSignal(notice = 'stopping after the current batch (Ctrl-C again to exit at once)'): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    process.stderr.write(`event-store: ${notice}\n`);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** A progress reporter on stderr for `label`, at the interval of the global `--progress-interval` option. */
export function progressReporter(command: Command, label: string): ProgressReporter {
  const { progressInterval } = command.optsWithGlobals<{ progressInterval: number }>();
  return new ProgressReporter(label, progressInterval);
}

/**
 * Runs a long operation with progress and Ctrl-C handling: the reporter ends its line with `done`
 * or `interrupted`, and an interrupted run leaves with {@link EXIT_INTERRUPTED}.
 */
export async function runLong<R extends { interrupted: boolean }>(
  command: Command,
  label: string,
  operation: (options: { onProgress: ProgressReporter['listener']; signal: AbortSignal }) => Promise<R>,
): Promise<R> {
  const reporter = progressReporter(command, label);
  const interrupt = interruptSignal();
  try {
    const result = await operation({ onProgress: reporter.listener, signal: interrupt.signal });
    reporter.finish(result.interrupted ? 'interrupted: run the command again to resume' : 'done');
    if (result.interrupted) process.exitCode = EXIT_INTERRUPTED;
    return result;
  } catch (error) {
    reporter.finish('failed');
    throw error;
  } finally {
    interrupt.dispose();
  }
}
