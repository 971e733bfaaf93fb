#!/usr/bin/env node
import 'reflect-metadata';
import { Logger, type LoggerService } from '@nestjs/common';
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { exportCommand } from './export.command.js';
import { forgetSubjectCommand } from './forget-subject.command.js';
import { importCommand } from './import.command.js';
import { migrateCommand } from './migrate.command.js';
import { projectionsCommand } from './projections.command.js';
import { restampCommand } from './restamp.command.js';
import { scavengeCommand } from './scavenge.command.js';
import { subscriptionsCommand } from './subscriptions.command.js';
import { verifyCommand } from './verify.command.js';

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
  // Nest logs a boot failure as the Error itself before rejecting with it: the command prints that one once, below.
  error: (message: unknown, context?: unknown) =>
    message instanceof Error ? undefined : process.stderr.write(`${String(context ?? 'event-store')}: ${String(message)}\n`),
};
Logger.overrideLogger(stderrLogger);

const program = new Command('event-store')
  .description('Operate a PostgreSQL event store (configured by EVENT_STORE_* variables, or .env)')
  .version(version)
  .option('--progress-interval <seconds>', 'seconds between progress lines when stderr is not a terminal', seconds, 5)
  .showHelpAfterError();
migrateCommand(program);
exportCommand(program);
importCommand(program);
subscriptionsCommand(program);
projectionsCommand(program);
verifyCommand(program);
restampCommand(program);
scavengeCommand(program);
forgetSubjectCommand(program);

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return value;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`event-store: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
