/**
 * A separate process that runs one counting projection (test/helpers/counting-projection.ts), for
 * the projection tests that kill processes. Prints one JSON line per event handled
 * (`{"pid","position","batch","index","rebuild"}`: `batch` counts the transactions it handled events
 * in, `index` is the event's place in its batch, `rebuild` whether it was a rebuild's), then
 * `{"ready":true}` once started. With REBUILD=1 it also rebuilds the projection, printing each
 * progress report (`{"progress":...}`) and the result (`{"rebuilt":...}`).
 *
 * Connection from EVENT_STORE_HOST/PORT/USER/PASS, database EVENT_STORE_TEST_DB, schema
 * EVENT_STORE_SCHEMA (which also holds the read model); PROJECTION names it, TABLE_PREFIX its
 * tables, STREAM_PREFIX filters `$all`, BATCH_SIZE and DELAY_MS (per event) pace it.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStore, EventStoreModule, type StoreTransaction } from '@game-bot/event-store';
import { countingProjection } from './counting-projection.js';
import { testConnection } from './test-database.js';

const schema = process.env.EVENT_STORE_SCHEMA!;
const delayMs = Number(process.env.DELAY_MS ?? 0);
const batches = new WeakMap<StoreTransaction, number>();
let batch = 0;
let index = 0;

const Counting = countingProjection(process.env.PROJECTION ?? 'counting', {
  schema,
  prefix: process.env.TABLE_PREFIX ?? 'pp',
  options: {
    filter: { streamPrefix: process.env.STREAM_PREFIX ?? '' },
    batchSize: Number(process.env.BATCH_SIZE ?? 50),
    pollIntervalMs: 200,
  },
  before: async (event, tx, tables) => {
    if (!batches.has(tx)) {
      batches.set(tx, ++batch);
      index = 0;
    }
    const line = {
      pid: process.pid,
      position: event.globalPosition,
      batch: batches.get(tx),
      index: index++,
      rebuild: tables.totals!.includes('__r'),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    if (delayMs > 0) await sleep(delayMs);
  },
});

@Module({
  imports: [EventStoreModule.forRoot({ connection: testConnection(), schema, applicationName: `projection-${process.pid}` })],
  providers: [Counting],
})
class ProjectionProcessModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ProjectionProcessModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
  if (process.env.REBUILD === '1') {
    const store = app.get(EventStore);
    const rebuilt = await store.rebuildProjection(process.env.PROJECTION ?? 'counting', {
      onProgress: (progress) => process.stdout.write(`${JSON.stringify({ pid: process.pid, progress })}\n`),
    });
    process.stdout.write(`${JSON.stringify({ pid: process.pid, rebuilt })}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`projection process failed: ${String(error)}\n`);
  process.exit(1);
});
