import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { allEvents, expectedModel, projectionCaughtUp, readModel } from '../../../test/helpers/counting-projection.js';
import { eventually } from '../../../test/helpers/eventually.js';
import { startProjectionProcess, type ProjectionLine } from '../../../test/helpers/projection-child.js';
import { createTestStore, someEvents, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

type Line = ProjectionLine;

/** Separate Node processes run the counting projection; some are killed with SIGKILL. */
describe('projections across processes', () => {
  const schema = uniqueSchema('projproc');
  let t: TestStore;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestStore({ schema });
  });
  afterAll(async () => {
    children.forEach((child) => child.kill('SIGKILL'));
    await t.close();
  });

  async function start(env: Record<string, string>, lines: Line[]): Promise<ChildProcess> {
    const child = await startProjectionProcess(schema, env, lines);
    children.push(child);
    return child;
  }

  async function kill(child: ChildProcess): Promise<number> {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await exited;
    return killedAt;
  }

  /** `count` events to streams `<prefix>0..6`, ten per append. */
  async function append(prefix: string, count: number, pauseMs = 0): Promise<void> {
    for (let i = 0; i < count / 10; i++) {
      await t.store.appendToStream(`${prefix}${i % 7}`, 'any', someEvents(10, 'Counted', i * 10));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }

  const caughtUp = (name: string, timeoutMs?: number): Promise<void> => projectionCaughtUp(t, name, timeoutMs);

  async function replay(prefix: string): Promise<ReturnType<typeof expectedModel>> {
    return expectedModel(await allEvents((options) => t.store.readAllForward(options), { streamPrefix: prefix }));
  }

  const pidOf = (owner: string | null): number | undefined => (owner === null ? undefined : Number(owner.split(':').at(-2)));

  it('killed with SIGKILL in the middle of a batch and restarted: the read model equals a replay from scratch, no event applied twice or missed', async () => {
    const env = { PROJECTION: 'killed', TABLE_PREFIX: 'kp', STREAM_PREFIX: 'k-', BATCH_SIZE: '50', DELAY_MS: '4' };
    await append('k-', 600);
    const first: Line[] = [];
    const victim = await start(env, first);
    // In its fourth batch, 20 events in: three batches committed, the fourth open.
    await eventually(() => first.some((line) => line.batch! >= 4 && line.index! >= 20), 20_000, 'the fourth batch');
    await kill(victim);
    const atKill = await t.store.projectionStatus('killed');
    const lastHandled = Math.max(...first.map((line) => line.position!));
    expect(atKill.checkpoint).toBeGreaterThan(0);
    // The killed batch was under way: it handled events past the checkpoint, which never committed.
    expect(lastHandled).toBeGreaterThan(atKill.checkpoint);
    expect(await readModel(t.sql, schema, 'kp')).toEqual(expectedModelUpTo(await replayEvents('k-'), atKill.checkpoint));

    const second: Line[] = [];
    await start(env, second);
    await caughtUp('killed');
    // The restarted process handled the rolled-back batch's events again; the model has each once.
    expect(second.some((line) => line.position === lastHandled)).toBe(true);
    const model = await readModel(t.sql, schema, 'kp');
    expect(model).toEqual(await replay('k-'));
    expect(model.applied).toHaveLength(600);
  });

  it('two processes: one runs it; after a SIGKILL of that one the other takes over within 5 s; the read model stays exact', async () => {
    const env = { PROJECTION: 'failover', TABLE_PREFIX: 'fp', STREAM_PREFIX: 'f-', BATCH_SIZE: '20' };
    const lines: Line[] = [];
    const processes = await Promise.all([start(env, lines), start(env, lines)]);
    await append('f-', 200, 5);
    await caughtUp('failover');
    const handlers = new Set(lines.map((line) => line.pid));
    expect(handlers.size).toBe(1);
    const [active] = handlers;
    const status = await t.store.projectionStatus('failover');
    expect(status.status).toBe('running');
    expect(pidOf(status.owner)).toBe(active);
    expect(await readModel(t.sql, schema, 'fp')).toEqual(await replay('f-'));

    const killedAt = await kill(processes.find((child) => child.pid === active)!);
    await append('f-', 200, 10);
    await caughtUp('failover');
    const survivor = lines.filter((line) => line.pid !== active);
    expect(survivor.length).toBeGreaterThan(0);
    expect(survivor[0]!.at - killedAt).toBeLessThan(5_000);
    expect(pidOf((await t.store.projectionStatus('failover')).owner)).toBe(survivor[0]!.pid);
    const model = await readModel(t.sql, schema, 'fp');
    expect(model).toEqual(await replay('f-'));
    expect(model.applied).toHaveLength(400);
  });

  it('a rebuild killed half-way leaves the live model serving; the next rebuild drops its tables and starts over', async () => {
    const env = { PROJECTION: 'rebuilt', TABLE_PREFIX: 'rp', STREAM_PREFIX: 'r-', BATCH_SIZE: '50' };
    await append('r-', 800);
    const lines: Line[] = [];
    await start(env, lines);
    await caughtUp('rebuilt');

    const rebuilder = await start({ ...env, REBUILD: '1', DELAY_MS: '3' }, lines);
    await eventually(
      () => lines.filter((line) => line.pid === rebuilder.pid && line.progress).length >= 3,
      20_000,
      'three batches of the rebuild',
    );
    await kill(rebuilder);
    const crashed = await t.store.projectionStatus('rebuilt');
    expect(crashed.rebuild).toMatchObject({ generation: 1 });
    expect(crashed.rebuild!.processed).toBeGreaterThanOrEqual(150);
    expect(await tablesLike('%\\_\\_r1')).toEqual(['rp_applied__r1', 'rp_streams__r1', 'rp_totals__r1']);
    // Readers of the real tables still see the live model, complete.
    expect(await readModel(t.sql, schema, 'rp')).toEqual(await replay('r-'));
    await eventually(async () => (await t.store.projectionStatus('rebuilt')).rebuild?.active === false, 5_000, 'the dead rebuild to lapse');
    expect((await t.store.projectionStatus('rebuilt')).status).toBe('running');

    const again = await start({ ...env, REBUILD: '1' }, lines);
    await eventually(() => lines.some((line) => line.pid === again.pid && line.rebuilt), 20_000, 'the second rebuild');
    expect(lines.find((line) => line.pid === again.pid && line.rebuilt)!.rebuilt).toMatchObject({ generation: 2, processed: 800 });
    expect(await tablesLike('%\\_\\_r%')).toEqual([]);
    const after = await t.store.projectionStatus('rebuilt');
    expect(after).toMatchObject({ generation: 2, rebuild: null, tables: { totals: `${schema}.rp_totals` } });
    await append('r-', 100);
    await caughtUp('rebuilt');
    expect(await readModel(t.sql, schema, 'rp')).toEqual(await replay('r-'));
  });

  async function tablesLike(pattern: string): Promise<string[]> {
    const { rows } = await t.sql.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2 ORDER BY tablename`,
      [schema, pattern],
    );
    return rows.map((row) => row.name);
  }

  async function replayEvents(prefix: string) {
    return allEvents((options) => t.store.readAllForward(options), { streamPrefix: prefix });
  }

  function expectedModelUpTo(events: Awaited<ReturnType<typeof replayEvents>>, checkpoint: number) {
    const index = events.findIndex((event) => event.globalPosition === checkpoint);
    return expectedModel(events.slice(0, index + 1));
  }
});
