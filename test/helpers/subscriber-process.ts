/**
 * A separate process that runs one persistent subscription, for the multi-process tests: it prints
 * one JSON line per handled event (`{"pid","eventId","position"}`) and `{"ready":true}` once
 * started. Connection from EVENT_STORE_HOST/PORT/USER/PASS, database EVENT_STORE_TEST_DB, schema
 * EVENT_STORE_SCHEMA; SUBSCRIPTION names the subscription, STREAM_PREFIX filters `$all`, and
 * PARTITIONS, when set, makes this process a member of a group with that many partitions.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventStore, EventStoreModule } from '@game-bot/event-store';
import { testConnection } from './test-database.js';

@Module({
  imports: [
    EventStoreModule.forRoot({
      connection: testConnection(),
      schema: process.env.EVENT_STORE_SCHEMA,
      applicationName: `subscriber-${process.pid}`,
    }),
  ],
})
class SubscriberModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(SubscriberModule, { logger: ['error'] });
  app.enableShutdownHooks();
  const store = app.get(EventStore);
  store.subscribeToAll(
    process.env.SUBSCRIPTION ?? 'multi-process',
    (event) => {
      const { eventId, globalPosition: position, streamId, streamVersion } = event;
      process.stdout.write(`${JSON.stringify({ pid: process.pid, eventId, position, streamId, streamVersion })}\n`);
    },
    {
      filter: { streamPrefix: process.env.STREAM_PREFIX ?? '' },
      group: process.env.PARTITIONS ? { partitions: Number(process.env.PARTITIONS) } : undefined,
      checkpointEvery: 10,
      checkpointIntervalMs: 200,
      pollIntervalMs: 200,
    },
  );
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`subscriber failed: ${String(error)}\n`);
  process.exit(1);
});
