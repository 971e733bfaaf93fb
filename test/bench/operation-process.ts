/**
 * One measured operation of the operations bench, in a process of its own so that its peak memory
 * is its own: `node operation-process.js <kind> <schema> <file> [table]`, kind `export` or `import` (the
 * store's), `copy-out` or `copy-in` (raw COPY of the events table, the ceiling). Prints one JSON
 * line: `{ "events", "seconds", "maxRssKb" }`. Connection from EVENT_STORE_HOST/PORT/USER/PASS/DB.
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventStore, EventStoreModule } from '@game-bot/event-store';
import { createReadStream, createWriteStream } from 'node:fs';
import { finished, pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const [kind, schema, file, table = 'events'] = process.argv.slice(2) as [string, string, string, string?];
const connection = {
  host: process.env.EVENT_STORE_HOST!,
  port: Number(process.env.EVENT_STORE_PORT ?? 5432),
  user: process.env.EVENT_STORE_USER ?? 'postgres',
  password: process.env.EVENT_STORE_PASS ?? 'postgres',
  database: process.env.EVENT_STORE_DB!,
};

async function storeOperation(work: (store: EventStore) => Promise<number>): Promise<{ events: number; seconds: number }> {
  Logger.overrideLogger(['error']);
  const app = await NestFactory.createApplicationContext(EventStoreModule.forRoot({ connection, schema, migrations: 'skip' }), {
    logger: ['error'],
  });
  try {
    const started = performance.now();
    const events = await work(app.get(EventStore));
    return { events, seconds: (performance.now() - started) / 1000 };
  } finally {
    await app.close();
  }
}

async function rawCopy(statement: string, direction: 'out' | 'in'): Promise<{ events: number; seconds: number }> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    const started = performance.now();
    let rows: number;
    if (direction === 'out') {
      const copy = client.query(copyTo(statement));
      await pipeline(copy, createWriteStream(file));
      rows = copy.rowCount;
    } else {
      const copy = client.query(copyFrom(statement));
      await pipeline(createReadStream(file), copy);
      rows = copy.rowCount;
    }
    return { events: rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}

async function measure(): Promise<{ events: number; seconds: number }> {
  switch (kind) {
    case 'export':
      return storeOperation(async (store) => {
        const output = createWriteStream(file);
        const { exported } = await store.exportEvents(output);
        output.end();
        await finished(output);
        return exported;
      });
    case 'import':
      return storeOperation(async (store) => (await store.importEvents(createReadStream(file))).imported);
    case 'copy-out':
      return rawCopy(`COPY "${schema}"."${table}" TO STDOUT`, 'out');
    case 'copy-in':
      return rawCopy(`COPY "${schema}"."${table}" FROM STDIN`, 'in');
    default:
      throw new Error(`unknown operation ${kind}: use export, import, copy-out or copy-in`);
  }
}

const result = await measure();
process.stdout.write(`${JSON.stringify({ ...result, maxRssKb: process.resourceUsage().maxRSS })}\n`);
