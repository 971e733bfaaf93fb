import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configurationWarnings, loadServiceConfig, processEnvironment } from './configuration/service-config.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { configureHttp } from './http/configure-http.js';
import { createHttpAdapter } from './http/http-adapter.js';
import { createServiceLogger } from './logging/service-logger.js';

async function bootstrap(): Promise<void> {
  const logger = new Logger('EventStoreService');
  const config = loadServiceConfig(processEnvironment());
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), createHttpAdapter(config), {
    abortOnError: false,
    // No `return503OnClosing`: GracefulShutdown answers while closing, in the contract's error body.
    logger: createServiceLogger(config.logging.format, config.logging.level),
    // Boot's log lines wait until the app is up: a boot that fails says so in one line (below),
    // not in Nest's error line with a stack after the modules' start-up lines.
    bufferLogs: true,
    autoFlushLogs: false,
  });
  // Exit through process.exit once the hooks have run, so that the log lines still buffered are
  // written ('exit' flushes them; dying by the re-raised signal would drop them).
  app.enableShutdownHooks([], { useProcessExit: true });
  configureHttp(app, config);
  // The modules' start-up hooks (migrations, webhook secrets) run here: a failure among them is
  // still a failed boot, reported in its one line.
  await app.init();
  app.flushLogs();
  // Once the app's logger is in place, so that they are lines of the configured format.
  for (const warning of configurationWarnings(config)) logger.warn(warning);
  await listen(app, config.httpPort);
  const base = `http://localhost:${config.httpPort}`;
  logger.log(
    `Event store service (${config.environment}) listening on ${base}: API docs at ${base}/docs, admin console at ${base}/admin, health at ${base}/health, metrics at ${base}/metrics`,
  );
}

/** Every address, IPv6 and IPv4 (`::`), or IPv4 alone on a host without IPv6. */
async function listen(app: NestFastifyApplication, port: number): Promise<void> {
  try {
    await app.listen(port, '::');
  } catch (error) {
    if ((error as { code?: string }).code !== 'EAFNOSUPPORT') throw error;
    await app.listen(port, '0.0.0.0');
  }
}

bootstrap().catch((error: unknown) => {
  // One line, so that a bad set-up reads as what to fix rather than a stack trace.
  console.error(`Event store service failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
