import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { currentRequestId } from './request-context.js';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * The service's logger: one JSON object a line (`LOG_FORMAT=json`, the default) or Nest's text,
 * at `LOG_LEVEL` and above. In JSON, a line written while a request is served carries its
 * `requestId`, and the fields given with a message (`logger.log('request', { status })`) are
 * top-level keys.
 */
export class ServiceLogger extends ConsoleLogger {
  constructor(format: 'json' | 'text', level: LogLevel) {
    super({ json: format === 'json', flattenParams: true, logLevels: LEVELS.slice(0, LEVELS.indexOf(level) + 1) });
  }

  protected override getJsonLogObject(...args: Parameters<ConsoleLogger['getJsonLogObject']>): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const object = super.getJsonLogObject(...args);
    const requestId = currentRequestId();
    return requestId === undefined ? object : { ...object, requestId };
  }
}
