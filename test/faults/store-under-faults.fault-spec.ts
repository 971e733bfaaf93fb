import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { eventually } from '../helpers/eventually.js';
import { PostgresCluster } from '../helpers/postgres-cluster.js';
import { freePort, runService, type ServiceProcess } from '../helpers/service-process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { AllTail } from './all-tail.js';
import {
  answerFigures,
  answersDuring,
  formatTable,
  ledgerFigures,
  longestLag,
  ms,
  tailFigures,
  webhookFigures,
  type AllEvent,
  type Fault,
  type Outage,
  type OwnerChange,
  type WebhookHit,
} from './fault-figures.js';
import { causeOf, HttpWriters, type Answer, type Instance } from './http-writers.js';

/**
 * The store and the service under faults: two instances of the built service on a PostgreSQL
 * cluster of the suite's own, eight writers appending over HTTP with retries, a `$all` tail over
 * Server-Sent Events and a webhook, while the database restarts, its postmaster is SIGKILLed, the
 * notification listener's connection is killed again and again, the instance delivering the
 * webhook is SIGKILLed, and a lock holds the events table past the operations' deadline. Then:
 * nothing acknowledged is lost or stored twice, every reader saw every event, every failure was
 * the contract's 503 or 504, and the service recovered promptly.
 */

const TOKENS = { read: 'fault-suite-reader-token', write: 'fault-suite-writer-token', admin: 'fault-suite-admin-token' };
const SCHEMA = 'faults';
/** Every instance encrypts and decrypts the webhook's secret with the same key. */
const SECRETS_KEY = randomBytes(32).toString('base64');
const DATABASE = 'game_bot_eventstore';
const OPERATION_TIMEOUT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 1_000;
/** The longest an answer may take: the operation's deadline, then the wait for a cancelled statement's answer. */
const ANSWER_DEADLINE_MS = OPERATION_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 1_000;
const LOCK_HOLD_MS = 2.5 * OPERATION_TIMEOUT_MS;
const RECOVERY_LIMIT_MS = 1_000;
const TAKEOVER_LIMIT_MS = 5_000;
/** Load between two faults, so that each starts from a working service. */
const STEADY_MS = 2_000;

interface Running {
  instance: Instance;
  process: ServiceProcess;
  /** Whether it answers: only then does it get requests. */
  ready: boolean;
}

describe('the store and the service under faults', () => {
  let cluster: PostgresCluster | undefined;
  let receiver: WebhookReceiver | undefined;
  const services: Running[] = [];
  /** The webhook requests received, with when. */
  const hits: WebhookHit[] = [];
  const faults: Fault[] = [];
  const owners: OwnerChange[] = [];
  /** The answers to `GET /subscriptions/faults`, asked every 100 ms all along. */
  const watchAnswers: Answer[] = [];
  let writers: HttpWriters | undefined;
  let tail: AllTail | undefined;
  let watching = false;
  let ownerWatch: Promise<void> | undefined;
  let takeover: { killedAt: number; victim: string; leaseMovedAt?: number; firstDeliveryAt?: number } | undefined;
  let all: AllEvent[] | undefined;
  let startedAt = 0;
  let stoppedAt: number | undefined;
  let caughtUpAt: number | undefined;

  const live = (): Instance[] =>
    services.filter((service) => service.ready && service.instance.killedAt === undefined).map((service) => service.instance);
  const killed = (): Map<string, number> =>
    new Map(services.filter((service) => service.instance.killedAt !== undefined).map((s) => [s.instance.name, s.instance.killedAt!]));

  const environment = (): Record<string, string> => ({
    EVENT_STORE_HOST: '127.0.0.1',
    EVENT_STORE_PORT: String(cluster!.port),
    EVENT_STORE_USER: 'postgres',
    EVENT_STORE_PASS: 'postgres',
    EVENT_STORE_DB: DATABASE,
    EVENT_STORE_SCHEMA: SCHEMA,
    EVENT_STORE_TOKENS: `${TOKENS.read}:read,${TOKENS.write}:write,${TOKENS.admin}:admin`,
    EVENT_STORE_OPERATION_TIMEOUT_MS: String(OPERATION_TIMEOUT_MS),
    EVENT_STORE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
    EVENT_STORE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    EVENT_STORE_POOL_SIZE: '20',
    WEBHOOK_SYNC_INTERVAL_MS: '500',
    WEBHOOK_SECRETS_KEY: SECRETS_KEY,
    SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: 'warn',
  });

  async function startInstance(name: string): Promise<Instance> {
    const port = await freePort();
    const child = runService({ ...environment(), PORT: String(port) });
    const instance: Instance = { name, url: `http://127.0.0.1:${port}`, pid: child.pid };
    const running: Running = { instance, process: child, ready: false };
    services.push(running);
    let exited = false;
    void child.exited.then(() => (exited = true));
    const answers = (): Promise<boolean> =>
      fetch(`${instance.url}/health/live`).then(
        (response) => response.status === 200,
        () => false,
      );
    await eventually(async () => exited || (await answers()), 60_000);
    if (exited) throw new Error(`Instance ${name} did not start:\n${child.output()}`);
    running.ready = true;
    return instance;
  }

  const database = (name = DATABASE): pg.Client =>
    new pg.Client({ ...cluster!.connection, database: name, connectionTimeoutMillis: 2_000 });

  const adminRequest = (instance: Instance, path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${instance.url}${path}`, {
      ...init,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKENS.admin}` },
      signal: AbortSignal.timeout(5_000),
    });

  /** Records who holds the webhook's lease, as any live instance reports it, every 100 ms, and every answer. */
  async function watchOwner(): Promise<void> {
    while (watching) {
      const instance = live()[0];
      if (instance !== undefined) watchAnswers.push(await askOwner(instance));
      await sleep(100);
    }
  }

  async function askOwner(instance: Instance): Promise<Answer> {
    const sentAt = Date.now();
    try {
      const response = await adminRequest(instance, '/subscriptions/faults');
      const body = (await response.json()) as { owner: string | null };
      const at = Date.now();
      if (response.status === 200 && (owners.length === 0 || body.owner !== owners.at(-1)!.owner)) owners.push({ owner: body.owner, at });
      return { instance: instance.name, sentAt, at, status: response.status, body: response.status === 200 ? undefined : body };
    } catch (error) {
      return { instance: instance.name, sentAt, at: Date.now(), status: 0, error: causeOf(error) };
    }
  }

  const ownerPid = (owner: string | null | undefined): number | undefined => {
    const pid = /:(\d+):[0-9a-f]+$/.exec(owner ?? '')?.[1];
    return pid === undefined ? undefined : Number(pid);
  };

  /**
   * Watches `pg_isready` until a new postmaster (not `previous`) accepts connections. A restart
   * may be over between two checks: the new postmaster's pid tells that it happened.
   */
  async function watchReadiness(fault: Fault, previous: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (fault.readyAt === undefined) {
      if (Date.now() > deadline) throw new Error(`${fault.name}: the database did not come back within ${timeoutMs} ms`);
      const checkedAt = Date.now();
      const pid = await cluster!.postmasterPid().catch(() => undefined);
      const ready = await cluster!.isReady();
      if (!ready || pid !== previous) fault.downAt ??= checkedAt;
      // The time the successful check started: the database may have come up only during it.
      if (ready && pid !== undefined && pid !== previous) fault.readyAt = checkedAt;
      else await sleep(20);
    }
  }

  /** Waits for the first append acknowledged after the database came back, and ends the fault. */
  async function recovered(fault: Fault): Promise<void> {
    await eventually(() => writers!.firstAcknowledgedAfter(fault.readyAt!) !== undefined, 30_000);
    fault.firstAcknowledgedAt = writers!.firstAcknowledgedAfter(fault.readyAt!);
    fault.endedAt = Date.now();
  }

  function begin(name: string): Fault {
    const fault: Fault = { name, startedAt: Date.now() };
    faults.push(fault);
    return fault;
  }

  async function restartServer(): Promise<void> {
    const fault = begin('pg_ctl restart -m fast');
    const readiness = watchReadiness(fault, await cluster!.postmasterPid());
    await cluster!.restart();
    await readiness;
    await recovered(fault);
  }

  async function killPostmaster(): Promise<void> {
    const fault = begin('kill -9 postmaster, pg_ctl start');
    fault.downAt = Date.now();
    const pid = await cluster!.killPostmaster();
    fault.note = `postmaster ${pid} SIGKILLed`;
    const readiness = watchReadiness(fault, pid);
    await cluster!.startServer();
    await readiness;
    await recovered(fault);
  }

  /** Terminates the backends that LISTEN for the store's notifications, `rounds` times. */
  async function killListeners(rounds: number): Promise<void> {
    const fault = begin('pg_terminate_backend(LISTEN) x' + rounds);
    const client = database();
    await client.connect();
    let terminated = 0;
    try {
      for (let round = 0; round < rounds; round++) {
        const { rows } = await client.query<{ pid: number }>(
          `SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = $1 AND backend_type = 'client backend' AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
          [DATABASE],
        );
        terminated += rows.length;
        if (round === 0) expect(rows.length).toBeGreaterThanOrEqual(1);
        if (round === Math.floor(rounds / 2)) tail!.drop(); // the tail resumes from the client side too
        await sleep(400);
      }
    } finally {
      await client.end();
    }
    fault.note = `${terminated} listening backends terminated`;
    fault.endedAt = Date.now();
  }

  /** SIGKILLs the instance holding the webhook's lease (with the tail on it), and starts another. */
  async function killDeliveringInstance(name: string): Promise<void> {
    const fault = begin('SIGKILL of the delivering instance');
    const victimPid = ownerPid(owners.at(-1)?.owner);
    const victim = services.find((service) => service.instance.pid === victimPid);
    if (victim === undefined) throw new Error(`No live instance holds the webhook's lease (owner ${owners.at(-1)?.owner})`);
    const connections = tail!.connections.length;
    tail!.moveTo(victim.instance);
    await eventually(
      () => tail!.connections.length > connections && tail!.connectedTo === victim.instance.name && tail!.connections.at(-1)!.events > 0,
      10_000,
    );
    victim.instance.killedAt = Date.now();
    victim.process.kill('SIGKILL');
    takeover = { killedAt: victim.instance.killedAt, victim: victim.instance.name };
    const replacement = startInstance(name);
    await eventually(() => {
      const owner = owners.at(-1);
      const pid = ownerPid(owner?.owner);
      if (owner !== undefined && pid !== undefined && pid !== victim.instance.pid) takeover!.leaseMovedAt ??= owner.at;
      return takeover!.leaseMovedAt !== undefined;
    }, 30_000);
    // A delivery the killed instance had sent may still be read after the kill, but it came on a
    // connection of the killed process, which closed with it.
    const fromLive = (hit: WebhookHit): boolean => {
      const { openedAt, closedAt } = receiver!.connections[hit.connection]!;
      return (
        hit.at > takeover!.killedAt && (openedAt > takeover!.killedAt || closedAt === undefined || closedAt > takeover!.killedAt + 1_000)
      );
    };
    await eventually(() => hits.some(fromLive), 30_000);
    takeover.firstDeliveryAt = hits.find(fromLive)?.at;
    fault.note = `${victim.instance.name} (pid ${victim.instance.pid}) killed; ${name} started`;
    await replacement;
    fault.endedAt = Date.now();
  }

  /** Holds `LOCK TABLE events IN ACCESS EXCLUSIVE MODE` for `holdMs`, past the operations' deadline. */
  async function lockEvents(holdMs: number): Promise<void> {
    const fault = begin(`LOCK TABLE events for ${holdMs} ms`);
    const client = database();
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${SCHEMA}.events IN ACCESS EXCLUSIVE MODE`);
      fault.downAt = Date.now();
      await sleep(holdMs);
      await client.query('ROLLBACK');
      fault.readyAt = Date.now();
    } finally {
      await client.end();
    }
    await recovered(fault);
  }

  /** Every event of `$all`, page by page. */
  async function readAll(instance: Instance): Promise<AllEvent[]> {
    const events: AllEvent[] = [];
    for (let from = 0; ;) {
      const response = await fetch(`${instance.url}/all/events?fromPosition=${from}&limit=5000`, {
        headers: { Authorization: `Bearer ${TOKENS.read}` },
      });
      expect(response.status).toBe(200);
      const page = (await response.json()) as { events: AllEvent[]; nextFromPosition: number | null };
      events.push(
        ...page.events.map(({ eventId, streamId, streamVersion, globalPosition }) => ({
          eventId,
          streamId,
          streamVersion,
          globalPosition,
        })),
      );
      if (page.events.length === 0 || page.nextFromPosition === null) return events;
      from = page.nextFromPosition;
    }
  }

  beforeAll(async () => {
    startedAt = Date.now();
    cluster = await PostgresCluster.start();
    receiver = await startWebhookReceiver();
    receiver.answer = (hit) => {
      const { eventId, streamId, streamVersion, globalPosition } = (JSON.parse(hit.body) as { event: AllEvent }).event;
      hits.push({ event: { eventId, streamId, streamVersion, globalPosition }, at: Date.now(), connection: hit.connection });
      return 200;
    };
    const client = database('postgres');
    await client.connect();
    await client.query(`CREATE DATABASE ${DATABASE}`);
    await client.end();
    // Both boot at once: they migrate the new schema together (under the migrations' lock).
    const [first] = await Promise.all([startInstance('A'), startInstance('B')]);
    const created = await adminRequest(first, '/subscriptions', {
      method: 'POST',
      body: JSON.stringify({ name: 'faults', url: `${receiver.url}/hooks/faults`, startFrom: 'origin' }),
    });
    expect(created.status).toBe(201);
    watching = true;
    ownerWatch = watchOwner();
    tail = new AllTail(live, TOKENS.read, first);
    tail.start();
    // Paced so that the webhook, one POST at a time, keeps up on a small machine: the readers' lag
    // then measures the faults, not the machine.
    writers = new HttpWriters(live, { writers: 8, token: TOKENS.write, pauseMs: 50, requestTimeoutMs: 15_000 });
    writers.start();
  }, 120_000);

  afterAll(async () => {
    watching = false;
    await writers?.stop(0).catch(() => undefined);
    await tail?.stop().catch(() => undefined);
    await ownerWatch?.catch(() => undefined);
    for (const service of services) service.process.kill('SIGKILL');
    await Promise.all(services.map((service) => service.process.exited));
    await receiver?.close();
    await cluster?.destroy();
    if (writers !== undefined && tail !== undefined && all !== undefined) console.log(report());
    else console.log(diagnostics());
  }, 60_000);

  it('keeps serving while the database restarts, crashes and is locked, and an instance dies', async () => {
    await sleep(STEADY_MS);
    await restartServer();
    await sleep(STEADY_MS);
    await killPostmaster();
    await sleep(STEADY_MS);
    await killListeners(6);
    await sleep(STEADY_MS);
    await killDeliveringInstance('C');
    await sleep(STEADY_MS);
    await lockEvents(LOCK_HOLD_MS);
    await sleep(STEADY_MS);
    await writers!.stop(20_000);
    stoppedAt = Date.now();

    all = await readAll(live()[0]!);
    // What is still missing after a minute is counted, and reported, below.
    await eventually(caughtUp(all), 60_000).catch(() => undefined);
    caughtUpAt = Date.now();
    await sleep(1_000); // a late repeat would still show
  }, 240_000);

  it('stores every acknowledged event in $all exactly once, and no other event twice', () => {
    const ledger = ledgerFigures(writers!.batches, all!);
    expect(ledger.acknowledged).toBeGreaterThan(1_000);
    expect(ledger.abandoned).toEqual([]);
    expect(ledger.lost).toEqual([]);
    expect(ledger.duplicated).toEqual([]);
    expect(ledger.foreign).toBe(0);
    expect(ledger.streamGaps).toEqual([]);
  });

  it('the $all tail over SSE saw every event of $all once, in order, resuming after every drop', () => {
    const figures = tailFigures(tail!.received, tail!.connections, all!);
    expect(figures).toMatchObject({ missing: 0, duplicates: 0, firstOutOfOrder: -1 });
    expect(figures.resumes).toBeGreaterThanOrEqual(3); // dropped by the client, moved to the instance to kill, its SIGKILL
    expect(Object.keys(figures.closeReasons)).not.toContain('INTERNAL');
  });

  it('the webhook received every event of $all, in order per stream; repeats only as replays of the last checkpoint batch', () => {
    const figures = webhookFigures(hits, all!, owners, outages());
    expect(figures).toMatchObject({ missing: 0, offContract: [], outOfOrder: [] });
  });

  it('answered only 201/200, or 503/504 with the error body, within the deadline; connections failed only at the killed instance', () => {
    const figures = answerFigures(writers!.answers(), killed(), ANSWER_DEADLINE_MS);
    expect(figures.offContract).toEqual([]);
    expect(figures.unanswered).toEqual([]);
    expect(figures.overDeadline).toBe(0);
    const reads = answerFigures(watchAnswers, killed(), ANSWER_DEADLINE_MS, 200);
    expect({ offContract: reads.offContract, unanswered: reads.unanswered, overDeadline: reads.overDeadline }).toEqual({
      offContract: [],
      unanswered: [],
      overDeadline: 0,
    });
    const lock = faults.find((fault) => fault.name.startsWith('LOCK'))!;
    expect(answersDuring(lock, writers!.answers())).toMatch(/504x\d+/); // the lock did hold appends past their deadline
  });

  it(`appends succeed again within ${RECOVERY_LIMIT_MS} ms of the database accepting connections`, () => {
    const outages = faults.filter((fault) => fault.readyAt !== undefined);
    expect(outages.map((fault) => fault.name)).toHaveLength(3);
    const slow = outages
      .map((fault) => ({ fault: fault.name, recoveryMs: fault.firstAcknowledgedAt! - fault.readyAt! }))
      .filter(({ recoveryMs }) => !(recoveryMs >= 0 && recoveryMs <= RECOVERY_LIMIT_MS));
    expect(slow).toEqual([]);
  });

  it(`another instance delivers the webhook within ${TAKEOVER_LIMIT_MS} ms of the SIGKILL of the one delivering it`, () => {
    expect(takeover?.firstDeliveryAt).toBeDefined();
    expect(takeover!.firstDeliveryAt! - takeover!.killedAt).toBeLessThan(TAKEOVER_LIMIT_MS);
  });

  /** A check that both readers have received every event of `events`, looking only at what came since it last looked. */
  function caughtUp(events: AllEvent[]): () => boolean {
    const reader = (idAt: (index: number) => string | undefined) => ({ idAt, read: 0, missing: new Set(events.map((e) => e.eventId)) });
    const readers = [reader((index) => tail!.received[index]?.eventId), reader((index) => hits[index]?.event.eventId)];
    return () =>
      readers.every((each) => {
        for (let id = each.idAt(each.read); id !== undefined; id = each.idAt(++each.read)) each.missing.delete(id);
        return each.missing.size === 0;
      });
  }

  /** What a run that stopped half-way leaves to look at. */
  function diagnostics(): string {
    const t = (at: number): string => `+${at - startedAt} ms`;
    const outputs = services.map(
      (service) =>
        `--- ${service.instance.name} (pid ${service.instance.pid})\n${service.process.output().split('\n').slice(-40).join('\n')}`,
    );
    return [
      'Fault suite stopped before its end',
      `faults: ${JSON.stringify(faults.map((fault) => ({ ...fault, startedAt: t(fault.startedAt) })))}`,
      `lease owners: ${owners.map((change) => `${t(change.at)} ${change.owner}`).join('; ')}`,
      `takeover: ${JSON.stringify(takeover)}; webhook hits: ${hits.length}, last ${t(hits.at(-1)?.at ?? startedAt)}`,
      `tail connections: ${JSON.stringify(tail?.connections.map((c) => ({ ...c, openedAt: t(c.openedAt) })))}`,
      ...outputs,
    ].join('\n');
  }

  /** The fault injected last before `at`. */
  function phaseOf(at: number): string {
    const fault = faults.filter((each) => each.startedAt <= at).at(-1);
    return fault === undefined ? 'before the first fault' : `after ${fault.name}`;
  }

  /** The faults that made the database unreachable, until it accepted connections again. */
  function outages(): Outage[] {
    return faults
      .filter((fault) => fault.name.startsWith('pg_ctl') || fault.name.startsWith('kill -9'))
      .map((fault) => ({ name: fault.name, from: fault.startedAt, to: fault.readyAt ?? fault.endedAt ?? Infinity }));
  }

  /** The instance a lease owner names. */
  function holder(owner: string | null): string {
    const pid = ownerPid(owner);
    return services.find((service) => service.instance.pid === pid)?.instance.name ?? String(owner);
  }

  function report(): string {
    const ledger = ledgerFigures(writers!.batches, all!);
    const sse = tailFigures(tail!.received, tail!.connections, all!);
    const webhook = webhookFigures(hits, all!, owners, outages());
    const answers = answerFigures(writers!.answers(), killed(), ANSWER_DEADLINE_MS);
    const listeners = faults.find((fault) => fault.name.startsWith('pg_terminate_backend'));
    const lag = (received: Array<{ eventId: string; at: number }>): string =>
      listeners?.endedAt === undefined ? '-' : String(longestLag(writers!.batches, received, listeners.startedAt, listeners.endedAt));
    const counts = (record: Record<string, number>): string =>
      Object.entries(record)
        .map(([kind, count]) => `${kind}: ${count}`)
        .join(', ');
    const figures = formatTable([
      ['figure', 'value'],
      [
        'appends sent / acknowledged (201) / of them after a re-send',
        `${ledger.appends} / ${ledger.acknowledgedAppends} / ${ledger.retriedAppends}`,
      ],
      ['events acknowledged / unacknowledged', `${ledger.acknowledged} / ${ledger.unacknowledged}`],
      ['events in $all', String(ledger.inAll)],
      ['acknowledged lost / duplicated in $all', `${ledger.lost.length} / ${ledger.duplicated.length}`],
      ['unacknowledged stored anyway', String(ledger.unacknowledgedStored)],
      ['SSE tail received / duplicates / missing', `${sse.received} / ${sse.duplicates} / ${sse.missing}`],
      ['SSE connections / resumes (Last-Event-ID)', `${sse.connections} / ${sse.resumes}`],
      ['SSE ends', counts(sse.closeReasons)],
      ['webhook received / duplicates / missing', `${webhook.received} / ${webhook.duplicates} / ${webhook.missing}`],
      ['webhook lease takeovers / replays off the contract', `${webhook.takeovers} / ${webhook.offContract.length}`],
      [
        'webhook replays (events, cause)',
        webhook.replays.map((replay) => `${replay.events} (${replay.cause ?? `none, ${phaseOf(replay.at)}`})`).join(', ') || '-',
      ],
      [
        'webhook takeover after SIGKILL (lease / delivery)',
        `${ms(takeover?.killedAt, takeover?.leaseMovedAt)} ms / ${ms(takeover?.killedAt, takeover?.firstDeliveryAt)} ms`,
      ],
      ['append answers', counts(answers.byKind)],
      ['GET /subscriptions/faults answers (every 100 ms)', counts(answerFigures(watchAnswers, killed(), ANSWER_DEADLINE_MS, 200).byKind)],
      [
        '201 answer time p50 / p99 / slowest answer',
        `${answers.acknowledgedMs.p50} / ${answers.acknowledgedMs.p99} / ${answers.slowestMs} ms`,
      ],
      ['webhook lease holders', owners.map((change) => `${ms(startedAt, change.at)} ms: ${holder(change.owner)}`).join(', ')],
      ['readers caught up after the writers stopped', `${ms(stoppedAt, caughtUpAt)} ms`],
      [
        'SSE / webhook longest lag while listeners were killed',
        `${lag(tail!.received)} / ${lag(hits.map((hit) => ({ eventId: hit.event.eventId, at: hit.at })))} ms`,
      ],
      ['wall time', `${Math.round((Date.now() - startedAt) / 1000)} s`],
    ]);
    const faultTable = formatTable([
      ['fault', 'down→ready ms', 'ready→first 201 ms', 'non-201 answers meanwhile', 'note'],
      ...faults.map((fault) => [
        fault.name,
        ms(fault.downAt, fault.readyAt),
        ms(fault.readyAt, fault.firstAcknowledgedAt),
        answersDuring(fault, writers!.answers()) || '-',
        fault.note ?? '',
      ]),
    ]);
    return `\nFault suite figures\n${figures}\n\n${faultTable}\n`;
  }
});
