#!/usr/bin/env node
import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { migrateCommand } from './migrate.command.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * `event-store`: operations on a store from the command line, configured by the same
 * `EVENT_STORE_*` variables as the service (and `.env`). Results on stdout, progress on stderr, a
 * non-zero exit code on any failure.
 */
/** The store's own log lines (warnings and errors only) go to stderr: stdout holds results alone. */
const stderrLogger: LoggerService = {
  log: () => undefined,
  warn: (message: unknown, context?: unknown) => process.stderr.write(`${String(context ?? 'event-store')}: ${String(message)}\n`),
  error: (message: unknown, context?: unknown) => process.stderr.write(`${String(context ?? 'event-store')}: ${String(message)}\n`),
};
Logger.overrideLogger(stderrLogger);

const program = new Command('event-store')
  .description('Operate a PostgreSQL event store (configured by EVENT_STORE_* variables, or .env)')
  .version(version)
  .option('--progress-interval <seconds>', 'seconds between progress lines when stderr is not a terminal', seconds, 5)
  .showHelpAfterError();
migrateCommand(program);

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return value;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`event-store: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
