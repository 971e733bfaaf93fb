import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';
import pino, { type Level } from 'pino';

/** Longest a buffered log line waits. */
const FLUSH_MS = 200;
const NEST_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
/** Nest's level names as pino's (`log` is pino's `info`, `verbose` its `trace`). */
const PINO_LEVEL: Record<LogLevel, Level> = { fatal: 'fatal', error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/**
 * The service's logger, at `LOG_LEVEL` and above: `LOG_FORMAT=json` (the default) writes one JSON
 * object a line through pino (`level`, `time`, `pid`, `hostname`, `context`, `message`, and the fields
 * given with a message as top-level keys, such as a request's `requestId`);
 * `text` is Nest's console format. pino writes asynchronously, in as few writes as the load
 * allows: a synchronous write per line cost a fifth of a single-event append's time.
 */
export function createServiceLogger(format: 'json' | 'text', level: LogLevel): LoggerService {
  if (format === 'text') {
    return new ConsoleLogger({ logLevels: NEST_LEVELS.slice(0, NEST_LEVELS.indexOf(level) + 1) });
  }
  return new JsonLogger(PINO_LEVEL[level]);
}

/** Nest's `LoggerService` over pino. */
class JsonLogger implements LoggerService {
  // Lines are buffered up to 4 kB and written at least every FLUSH_MS: one write per line was
  // most of what logging cost under load.
  private readonly destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  private readonly pino: pino.Logger;

  constructor(level: Level) {
    this.pino = pino(
      {
        level,
        messageKey: 'message',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      this.destination,
    );
    setInterval(() => this.destination.flush(), FLUSH_MS).unref();
    // What is buffered when the process ends is written before it goes.
    process.once('exit', () => {
      try {
        this.destination.flushSync();
      } catch {
        // not open yet: nothing was buffered
      }
    });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /**
   * Nest passes the context last (a string that is not a stack), an error's stack before it, and
   * fields as objects; a field named like a key of the line itself is kept under `fields`.
   */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const last = params.at(-1);
    const context = typeof last === 'string' && !STACK.test(last) ? (params.pop() as string) : undefined;
    const fields: Record<string, unknown> = { context };
    for (const param of params) {
      if (typeof param === 'string') fields.stack = param;
      else if (param instanceof Error) fields.stack = param.stack;
      else if (typeof param === 'object' && param !== null) Object.assign(fields, withoutReserved(param as Record<string, unknown>));
    }
    if (message instanceof Error) {
      this.pino[level]({ ...fields, stack: message.stack }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...withoutReserved(message as Record<string, unknown>) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/** What a stack trace looks like (a line starting with `at`). */
const STACK = /\n\s+at /;
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'message']);

function withoutReserved(fields: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  const moved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    (RESERVED.has(key) ? moved : kept)[key] = value;
  }
  return Object.keys(moved).length === 0 ? kept : { ...kept, fields: moved };
}
