import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { AggregateRoot, CqrsModule, EventsHandler, ofType, Saga, type IEventHandler } from '@nestjs/cqrs';
import { IsString } from 'class-validator';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { map, type Observable } from 'rxjs';
import { EventStoreModule, EventType, type RecordedEvent } from '@game-bot/event-store';
import {
  AggregateRepository,
  EventBusFeed,
  EventStoreCqrsModule,
  recordedEventOf,
  type EventStoreCqrsModuleOptions,
} from '@game-bot/event-store/cqrs';
import { eventually } from '../../../test/helpers/eventually.js';
import { createTestStore, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

@EventType('CqrsGameStarted')
class GameStarted {
  @IsString() word!: string;
}

@EventType('CqrsGuessMade')
class GuessMade {
  @IsString() player!: string;
  @IsString() word!: string;
}

@EventType('CqrsGameWon')
class GameWon {
  @IsString() player!: string;
}

const started = (word: string) => Object.assign(new GameStarted(), { word });
const guessed = (player: string, word: string) => Object.assign(new GuessMade(), { player, word });

/** The aggregate of a word game, as a `@nestjs/cqrs` user writes it. */
class Game extends AggregateRoot {
  word: string | undefined;
  guesses: string[] = [];
  winner: string | undefined;

  start(word: string): void {
    this.apply(started(word));
  }

  guess(player: string, word: string): void {
    this.apply(guessed(player, word));
    if (word === this.word) this.apply(Object.assign(new GameWon(), { player }));
  }

  onGameStarted(event: GameStarted): void {
    this.word = event.word;
  }

  onGuessMade(event: GuessMade): void {
    this.guesses.push(event.word);
  }

  onGameWon(event: GameWon): void {
    this.winner = event.player;
  }
}

/** What the handlers of the app under test were given, across all of its boots. */
interface Handled {
  handler: string;
  eventId: string | undefined;
  className: string;
  stored: RecordedEvent<object> | undefined;
}
const handled: Handled[] = [];
const sagaSaw: string[] = [];
/** Failures still to come from `GameWonHandler`, and a gate it waits at while closed. */
const gameWon = { failuresLeft: 0, attempts: 0, gate: undefined as Promise<void> | undefined };

function note(handler: string, event: object): void {
  const stored = recordedEventOf(event);
  handled.push({ handler, eventId: stored?.eventId, className: event.constructor.name, stored });
}

@EventsHandler(GameWon)
class GameWonHandler implements IEventHandler<GameWon> {
  async handle(event: GameWon): Promise<void> {
    gameWon.attempts++;
    await gameWon.gate;
    if (gameWon.failuresLeft > 0) {
      gameWon.failuresLeft--;
      throw new Error('the announcement channel is down');
    }
    note('GameWonHandler', event);
  }
}

@EventsHandler(GameStarted, GuessMade)
class GameLogHandler implements IEventHandler<GameStarted | GuessMade> {
  async handle(event: GameStarted | GuessMade): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1));
    note('GameLogHandler', event);
  }
}

class Winners {
  @Saga()
  winners = (events$: Observable<object>): Observable<never> =>
    events$.pipe(
      ofType(GameWon),
      map((event) => void sagaSaw.push(event.player)),
      map(() => undefined as never),
    );
}

@Module({ providers: [GameWonHandler, GameLogHandler, Winners] })
class HandlersModule {}

const EVENTS = [GameStarted, GuessMade, GameWon];

describe('the @nestjs/cqrs bridge', () => {
  const schema = uniqueSchema('cqrs');
  let t: TestStore;
  let repository: AggregateRepository;

  const boot = (options?: EventStoreCqrsModuleOptions, applicationName = 'cqrs-app'): Promise<TestStore> => {
    const imports: DynamicModule[] = [CqrsModule.forRoot(), EventStoreModule.forFeature(EVENTS), EventStoreCqrsModule.forRoot(options)];
    return createTestStore({ schema, applicationName }, 'cqrs', [...imports, HandlersModule]);
  };
  /** The stream's events, for comparing with what the handlers got. */
  const storedIds = async (streamId: string): Promise<string[]> => (await t.store.readStreamForward(streamId)).map((e) => e.eventId);
  const handledIds = (): string[] => handled.map((h) => h.eventId!);

  beforeAll(async () => {
    t = await boot();
    repository = t.app.get(AggregateRepository);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('saves an aggregate with its expected version, and the handlers get each stored event once, as instances', async () => {
    const game = new Game();
    game.start('crane');
    game.guess('ann', 'slate');
    game.guess('bob', 'crane');

    const result = await repository.save(game, 'game-1', 'no_stream');

    expect(result).toMatchObject({ streamId: 'game-1', fromVersion: 1, toVersion: 4 });
    expect(game.getUncommittedEvents()).toEqual([]);
    const stored = await t.store.readStreamForward('game-1');
    expect(stored.map((e) => e.eventType)).toEqual(['CqrsGameStarted', 'CqrsGuessMade', 'CqrsGuessMade', 'CqrsGameWon']);
    await eventually(() => handled.length === 4);
    expect(handledIds().sort()).toEqual(stored.map((e) => e.eventId).sort());
    const won = handled.find((h) => h.handler === 'GameWonHandler')!;
    expect(won).toMatchObject({ className: 'GameWon', stored: { streamId: 'game-1', streamVersion: 4, data: { player: 'bob' } } });
    expect(handled.filter((h) => h.handler === 'GameLogHandler').map((h) => h.className)).toEqual([
      'GameStarted',
      'GuessMade',
      'GuessMade',
    ]);
  });

  it('refuses a stale expected version with WRONG_EXPECTED_VERSION: nothing stored, nothing handled, events kept', async () => {
    const { aggregate: first, version } = await repository.load('game-1', () => new Game());
    const { aggregate: second } = await repository.load('game-1', () => new Game());
    first.guess('cat', 'crate');
    await repository.save(first, 'game-1', version);
    second.guess('dan', 'trace');

    await expect(repository.save(second, 'game-1', version)).rejects.toMatchObject({
      code: 'WRONG_EXPECTED_VERSION',
      details: { expectedVersion: 4, actualVersion: 5 },
    });

    expect(second.getUncommittedEvents()).toHaveLength(1);
    const stored = await t.store.readStreamForward<GuessMade>('game-1');
    expect(stored.map((e) => e.streamVersion)).toEqual([1, 2, 3, 4, 5]);
    expect(stored[4]!.data.player).toBe('cat');
    await eventually(() => handled.length === 5);
    await t.app.get(EventBusFeed).waitUntilCaughtUp();
    expect(handledIds().sort()).toEqual((await storedIds('game-1')).sort());
  });

  it('loads an aggregate by replaying its stream; a missing stream is a fresh aggregate at version 0', async () => {
    const { aggregate, version } = await repository.load('game-1', () => new Game());

    expect(version).toBe(5);
    expect(aggregate).toMatchObject({ word: 'crane', winner: 'bob', guesses: ['slate', 'crane', 'crate'] });
    expect(aggregate.getUncommittedEvents()).toEqual([]);
    const missing = await repository.load('game-none', () => new Game());
    expect(missing.version).toBe(0);
    expect(missing.aggregate.word).toBeUndefined();
    expect(missing.aggregate.guesses).toEqual([]);
  });

  it('refuses events of no registered class, and autoCommit, before storing anything', async () => {
    const game = new Game();
    game.start('plain');
    game.apply({ eventType: 'Chat', data: { text: 'hi' } });
    await expect(repository.save(game, 'game-plain', 'no_stream')).rejects.toMatchObject({
      code: 'UNKNOWN_EVENT_TYPE',
      name: 'UnregisteredAggregateEventError',
      details: { index: 1, className: 'Object' },
    });
    const auto = new Game();
    auto.autoCommit = true;
    auto.start('auto');
    await expect(repository.save(auto, 'game-auto', 'no_stream')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await t.store.streamExists('game-plain')).toBe(false);
    expect(await t.store.streamExists('game-auto')).toBe(false);
    // Loading meets a stored event of no registered class: the aggregate would miss it.
    await t.store.appendToStream('game-mixed', 'no_stream', [started('mixed'), { eventType: 'Chat', data: { text: 'hi' } }]);
    await expect(repository.load('game-mixed', () => new Game())).rejects.toMatchObject({
      code: 'UNKNOWN_EVENT_TYPE',
      details: { eventType: 'Chat', streamId: 'game-mixed', streamVersion: 2 },
    });
    await eventually(() => handled.some((h) => h.stored?.streamId === 'game-mixed'));
  });

  it('moves past an event only once its handlers have finished; a failing handler is retried, not skipped', async () => {
    let open!: () => void;
    gameWon.gate = new Promise((resolve) => (open = resolve));
    gameWon.failuresLeft = 2;
    gameWon.attempts = 0;
    const before = handled.length;
    const game = new Game();
    game.start('flint');
    game.guess('eve', 'flint');
    await repository.save(game, 'game-2', 'no_stream');
    const [, , won] = await t.store.readStreamForward('game-2');
    await t.store.appendToStream('game-3', 'no_stream', [started('later')]);
    const feed = t.app.get(EventBusFeed);

    try {
      await eventually(() => gameWon.attempts === 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Still at the event whose handler has not finished; the event after it waits too.
      expect(feed.subscription!.position).toBeLessThan(won!.globalPosition);
      expect(handled.slice(before).map((h) => h.stored?.streamId)).toEqual(['game-2', 'game-2']);
    } finally {
      open();
    }

    await eventually(() => handled.some((h) => h.stored?.streamId === 'game-3'));
    expect(gameWon.attempts).toBe(3); // two failures, retried by the subscription, then success
    expect(handled.slice(before).map((h) => `${h.stored?.streamId}@${h.stored?.streamVersion}`)).toEqual([
      'game-2@1',
      'game-2@2',
      'game-2@3',
      'game-3@1',
    ]);
    gameWon.gate = undefined;
  });

  it('skips events of unregistered types: no handler could match them', async () => {
    const before = handled.length;
    await t.store.appendToStream('chat-1', 'no_stream', [{ eventType: 'Chat', data: { text: 'gg' } }]);
    await t.store.appendToStream('game-4', 'no_stream', [started('after-chat')]);
    await eventually(() => handled.length === before + 1);
    expect(handled.at(-1)!.stored?.streamId).toBe('game-4');
  });

  it('after a restart, the handlers get the events stored meanwhile and new ones, none of the old ones again', async () => {
    await t.app.get(EventBusFeed).waitUntilCaughtUp();
    const seenBefore = handled.length;
    await t.app.close();
    await t.sql.end();
    // Stored while no app runs: the next boot hands them over.
    const writer = await createTestStore({ schema, applicationName: 'cqrs-writer' }, 'cqrs', [EventStoreModule.forFeature(EVENTS)]);
    await writer.store.appendToStream('game-5', 'no_stream', [started('offline')]);
    await writer.app.close().then(() => writer.sql.end());

    t = await boot();
    repository = t.app.get(AggregateRepository);
    const game = new Game();
    game.start('online');
    await repository.save(game, 'game-6', 'no_stream');

    await eventually(() => handled.some((h) => h.stored?.streamId === 'game-6'), 15_000);
    await t.app.get(EventBusFeed).waitUntilCaughtUp();
    expect(handled.slice(seenBefore).map((h) => h.stored?.streamId)).toEqual(['game-5', 'game-6']);
    expect(new Set(handledIds()).size).toBe(handled.length);
  });

  it("with delivery 'publish', events go through EventBus.publish: sagas see them too", async () => {
    // The default delivery runs the handlers only: no saga has seen anything so far.
    expect(sagaSaw).toEqual([]);
    const other = await boot({ subscription: 'cqrs-publish', delivery: 'publish', filter: { streamPrefix: 'game-1' } }, 'cqrs-publish');
    try {
      // Both apps' handlers note what they get: the new subscription starts from the origin.
      await eventually(() => sagaSaw.length === 1);
      await other.app.get(EventBusFeed).waitUntilCaughtUp();
      expect(sagaSaw).toEqual(['bob']);
      await eventually(() => handled.filter((h) => h.stored?.streamId === 'game-1').length === 10);
    } finally {
      await other.app.close().then(() => other.sql.end());
    }
  });
});

describe('the main entry point without @nestjs/cqrs', () => {
  it('loads, while the cqrs entry point fails naming the missing peer', async () => {
    // A module hook that makes @nestjs/cqrs unresolvable, as in an app that does not install it.
    const hooks = `export async function resolve(specifier, context, next) {
      if (specifier === '@nestjs/cqrs' || specifier.startsWith('@nestjs/cqrs/')) {
        throw Object.assign(new Error("Cannot find package '@nestjs/cqrs'"), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
      const main = await import('@game-bot/event-store');
      const http = await import('@game-bot/event-store/http');
      const result = { main: typeof main.EventStoreModule, http: typeof http.EventStoreExceptionFilter };
      try {
        await import('@game-bot/event-store/cqrs');
        result.cqrs = 'loaded';
      } catch (error) {
        result.cqrs = error.code + ': ' + error.message;
      }
      console.log(JSON.stringify(result));`;
    const repo = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repo,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual({
      main: 'function',
      http: 'function',
      cqrs: expect.stringMatching(/^ERR_MODULE_NOT_FOUND: .*@nestjs\/cqrs/),
    });
  });
});
