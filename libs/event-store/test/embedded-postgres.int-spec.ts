import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { EmbeddedPostgresServer, StoreUnavailableError } from '../src/index.js';
import { createTestStore, someEvents } from '../../../test/helpers/test-store.js';

/** The default a new user gets: no database configured, a real PostgreSQL started by the store. */
describe('embedded PostgreSQL', () => {
  const dataDir = resolve(`data/tmp-embedded-${randomBytes(4).toString('hex')}`);

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with no connection configured, keeps the data across restarts, and stops with the app', async () => {
    const first = await createTestStore({ connection: undefined, embedded: { dataDir } }, 'embedded');
    await first.store.appendToStream('kept', 'no_stream', someEvents(3));
    await first.app.close();
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);

    const second = await createTestStore({ connection: undefined, embedded: { dataDir }, schema: first.schema });
    expect((await second.store.readStreamForward('kept')).map((e) => e.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    await second.store.appendToStream('kept', 3, someEvents(1));
    await second.app.close();
    await Promise.all([first.sql.end(), second.sql.end()]);
  });

  it('a database stopped mid-run gives STORE_UNAVAILABLE; the store recovers when it is back', async () => {
    const server = new EmbeddedPostgresServer({ dataDir: `${dataDir}-stop`, port: 0 });
    const connection = await server.start();
    const t = await createTestStore(
      { connection, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 100 }, connectionTimeoutMs: 1_000 },
      'stopped',
    );
    try {
      await t.store.appendToStream('s', 'no_stream', someEvents(1));
      await server.stop();
      await expect(t.store.appendToStream('s', 1, someEvents(1))).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(t.store.readStreamForward('s')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

      const restarted = new EmbeddedPostgresServer({ dataDir: `${dataDir}-stop`, port: connection.port });
      await restarted.start();
      try {
        await t.store.appendToStream('s', 1, someEvents(1));
        expect(await t.store.readStreamForward('s')).toHaveLength(2);
      } finally {
        await t.app.close();
        await restarted.stop();
      }
    } finally {
      await t.sql.end();
      await server.stop();
      await rm(`${dataDir}-stop`, { recursive: true, force: true });
    }
  });

  it('adopts a server left running on its data directory by a process that died', async () => {
    const orphaned = new EmbeddedPostgresServer({ dataDir: `${dataDir}-orphan`, port: 0 });
    const running = await orphaned.start();
    try {
      const next = new EmbeddedPostgresServer({ dataDir: `${dataDir}-orphan`, port: 0 });
      expect((await next.start()).port).toBe(running.port);
      await next.stop();
    } finally {
      await orphaned.stop();
      await rm(`${dataDir}-orphan`, { recursive: true, force: true });
    }
  });

  it('two processes starting on one fresh data directory at once: one starts it, the other adopts it', async () => {
    const dir = `${dataDir}-race`;
    const [a, b] = [new EmbeddedPostgresServer({ dataDir: dir, port: 0 }), new EmbeddedPostgresServer({ dataDir: dir, port: 0 })];
    try {
      const [first, second] = await Promise.all([a.start(), b.start()]);
      expect(second.port).toBe(first.port);
      expect(existsSync(`${dir}.lock`)).toBe(false);
    } finally {
      await a.stop();
      await b.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
