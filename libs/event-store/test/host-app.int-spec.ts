import 'reflect-metadata';
import { Inject, Injectable, Module, Scope, type LoggerService } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { ModulesContainer } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { IsString } from 'class-validator';
import {
  EventStore,
  EventStoreConnection,
  EventStoreHealthIndicator,
  EventStoreModule,
  EVENT_STORE_MODULE_OPTIONS,
  EVENT_STORE_OPTIONS,
  EventType,
  SubscribeTo,
  type RecordedEvent,
} from '@game-bot/event-store';
import { SubscriptionManager } from '@game-bot/event-store/internal';
import pg from 'pg';
import { testConnection } from '../../../test/helpers/test-database.js';
import { uniqueSchema } from '../../../test/helpers/test-store.js';

@EventType('WordClaimed')
class WordClaimed {
  @IsString() word!: string;
}

/** A provider of a feature module: it injects what the root registered, with no flag anywhere. */
@Injectable()
class Words {
  constructor(
    @Inject(EventStore) readonly store: EventStore,
    @Inject(EventStoreHealthIndicator) readonly health: EventStoreHealthIndicator,
    @Inject(EventStoreConnection) readonly connection: EventStoreConnection,
  ) {}

  async claim(guild: string, word: string): Promise<RecordedEvent<WordClaimed>> {
    await this.store.appendToStream(`guild-${guild}`, 'any', [Object.assign(new WordClaimed(), { word })]);
    const [event] = await this.store.readStreamBackward(`guild-${guild}`, { maxCount: 1 });
    return event as unknown as RecordedEvent<WordClaimed>;
  }
}

@Module({ imports: [EventStoreModule.forFeature([WordClaimed])], providers: [Words], exports: [Words] })
class WordsModule {}

/** Request-scoped: no single instance to call, so its handler cannot be subscribed. */
@Injectable({ scope: Scope.REQUEST })
class PerRequestListener {
  @SubscribeTo('$all')
  onEvent(): void {}
}

/** Transient: a new instance for each consumer, none of them the one a subscription would call. */
@Injectable({ scope: Scope.TRANSIENT })
class TransientListener {
  @SubscribeTo('$all')
  onEvent(): void {}
}

/** Keeps the warnings Nest's logger is given. */
class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** The library as a host app registers it: forRoot once at the root, forFeature in feature modules. */
describe('a host app', () => {
  const sql = new pg.Pool({ ...testConnection(), max: 2 });
  const modules: TestingModule[] = [];
  const boot = async (imports: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>, logger?: LoggerService) => {
    const moduleRef = await Test.createTestingModule({ imports }).compile();
    if (logger) moduleRef.useLogger(logger);
    modules.push(moduleRef);
    return moduleRef.init();
  };

  afterAll(async () => {
    for (const moduleRef of modules) await moduleRef.close();
    await sql.end();
  });

  it('resolves EventStore, the health indicator and the connection in a feature module without isGlobal', async () => {
    const schema = uniqueSchema('host');
    const app = await boot([EventStoreModule.forRoot({ connection: testConnection(), schema }), WordsModule]);
    const words = app.get(Words);
    const event = await words.claim('g1', 'crane');
    expect(event.data).toBeInstanceOf(WordClaimed);
    expect(event.data.word).toBe('crane');
    expect(words.connection).toMatchObject({ schema, embedded: false, host: testConnection().host, database: testConnection().database });
    // The facade and the parts are single instances, whatever module asks.
    expect(app.get(EventStore)).toBe(words.store);
    const managers = [...app.get(ModulesContainer).values()].flatMap((module) =>
      [...module.providers.values()]
        .filter((wrapper) => wrapper.instance instanceof SubscriptionManager)
        .map((wrapper) => wrapper.instance),
    );
    expect(new Set(managers).size).toBe(1);
    expect(app.get(EVENT_STORE_MODULE_OPTIONS)).toMatchObject({ schema });
    expect(app.get(EVENT_STORE_OPTIONS)).toMatchObject({ schema, migrations: 'run', poolSize: expect.any(Number) });
    await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it('takes its options from forRootAsync with imports and inject', async () => {
    const schema = uniqueSchema('async');
    @Injectable()
    class GameConfig {
      readonly eventStore = { connection: testConnection(), schema };
    }
    @Module({ providers: [GameConfig], exports: [GameConfig] })
    class ConfigModule {}
    const app = await boot([
      EventStoreModule.forRootAsync({
        imports: [ConfigModule],
        inject: [GameConfig],
        useFactory: (config: GameConfig) => config.eventStore,
      }),
      WordsModule,
    ]);
    await app.get(Words).claim('g2', 'slate');
    expect((await sql.query(`SELECT count(*)::int AS n FROM "${schema}".events`)).rows[0].n).toBe(1);
    await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it('reports its health through Terminus under the key the app picks, down past a threshold', async () => {
    const schema = uniqueSchema('health');
    const app = await boot([EventStoreModule.forRoot({ connection: testConnection(), schema }), TerminusModule, WordsModule]);
    const terminus = app.get(HealthCheckService);
    const indicator = app.get(EventStoreHealthIndicator);
    const healthy = await terminus.check([() => indicator.isHealthy('eventStore')]);
    expect(healthy.status).toBe('ok');
    expect(healthy.info?.eventStore).toMatchObject({
      status: 'up',
      database: { status: 'up', latencyMs: expect.any(Number) },
      migrations: { status: 'up', pending: 0 },
      subscriptions: { status: 'up', count: 0, maxLag: 0 },
    });

    const store = app.get(EventStore);
    const subscription = store.subscribeToAll('slow-reader', () => undefined);
    await subscription.waitUntilCaughtUp();
    await subscription.unsubscribe();
    await app.get(Words).claim('g3', 'adieu');
    await app.get(Words).claim('g3', 'roate');
    const lagging = await indicator.isHealthy('eventStore', { maxSubscriptionLag: 1 });
    expect(lagging.eventStore).toMatchObject({ status: 'down', subscriptions: { status: 'down', maxLag: 2, maxAllowedLag: 1 } });
    await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it('warns, naming the provider, about @SubscribeTo on a provider that is not a singleton', async () => {
    const schema = uniqueSchema('scoped');
    @Module({ providers: [PerRequestListener, TransientListener] })
    class ListenerModule {}
    const logger = new CapturingLogger();
    await boot([EventStoreModule.forRoot({ connection: testConnection(), schema }), ListenerModule], logger);
    expect(logger.warnings.join('\n')).toMatch(/PerRequestListener has @SubscribeTo methods \(onEvent\) but is not a singleton/);
    expect(logger.warnings.join('\n')).toMatch(/TransientListener has @SubscribeTo methods \(onEvent\) but is not a singleton/);
    await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it("refuses a second forRoot, which would write to the first one's database", async () => {
    const [first, second] = [uniqueSchema('twice_a'), uniqueSchema('twice_b')];
    @Module({ imports: [EventStoreModule.forRoot({ connection: testConnection(), schema: second })] })
    class TenantModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [EventStoreModule.forRoot({ connection: testConnection(), schema: first }), TenantModule],
    }).compile();
    await expect(moduleRef.init()).rejects.toThrow(
      /EventStoreModule.forRoot\(\) is registered 2 times: register it once, at the application root/,
    );
    await moduleRef.close();
    await sql.query(`DROP SCHEMA IF EXISTS "${first}" CASCADE`);
    await sql.query(`DROP SCHEMA IF EXISTS "${second}" CASCADE`);
  });
});
