import type { LogLevel } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventStoreExceptionFilter } from '@game-bot/event-store/http';
import { AppModule } from './app.module.js';
import type { BotConfig } from './configuration/bot-config.js';
import { GameRuleFilter } from './http/game-rule.filter.js';
import { bodyValidation } from './http/validation.pipe.js';

/** How `createBotApp` sets the app up beyond its configuration. */
export interface BotAppOptions {
  /** Nest's log levels, or `false` for none. Default: the configuration's (BOT_LOG_LEVEL). */
  logger?: LogLevel[] | false;
  /** Close the app (and the store) on SIGINT/SIGTERM, then exit. Default `false`: `main.ts` sets it. */
  shutdownHooks?: boolean;
}

/**
 * The bot as an HTTP app, initialised (migrations applied, projection started) but not yet
 * listening: `main.ts` and the e2e test share it.
 */
export async function createBotApp(config: BotConfig, options: BotAppOptions = {}): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), new FastifyAdapter(), {
    logger: options.logger ?? config.logLevels,
    abortOnError: false,
  });
  if (options.shutdownHooks) {
    // Before init: on the embedded PostgreSQL, the store checks at boot that a stop will close it in order.
    app.enableShutdownHooks([], { useProcessExit: true });
  }
  const adapterHost = app.get(HttpAdapterHost);
  // The store's errors (409 once the retries ran out, 503, ...) and the game's rules, in one body shape.
  app.useGlobalFilters(new EventStoreExceptionFilter(adapterHost), new GameRuleFilter(adapterHost));
  app.useGlobalPipes(bodyValidation());
  await app.init();
  return app;
}
