import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createBotApp } from './bot-app.js';
import { loadBotConfig, processEnvironment } from './configuration/bot-config.js';

async function bootstrap(): Promise<void> {
  const config = loadBotConfig(processEnvironment());
  // Ctrl-C closes the store in order (and stops the embedded PostgreSQL) before the process exits.
  const app = await createBotApp(config, { shutdownHooks: true });
  await app.listen(config.http.port, config.http.host);
  const base = `http://${config.http.host}:${config.http.port}`;
  new Logger('WordGuessBot').log(`Word-guess bot listening on ${base}: POST ${base}/games to start a game, GET ${base}/leaderboard`);
}

bootstrap().catch((error: unknown) => {
  // One line, so that a bad set-up reads as what to fix rather than a stack trace.
  console.error(`Word-guess bot failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
