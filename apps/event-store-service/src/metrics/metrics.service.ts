import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EventStore, EventStoreHealth, type SubscriptionHealth } from '@game-bot/event-store';

/**
 * The service's Prometheus metrics: the store's work (reported by the store as it happens) and
 * its state (read from the store at each scrape), plus HTTP requests.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();
  private scraped?: { at: number; rows: Promise<SubscriptionHealth[]> };
  private readonly appendSeconds = new Histogram({
    name: 'event_store_append_duration_seconds',
    help: 'Time of an append, retries included',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly readSeconds = new Histogram({
    name: 'event_store_read_duration_seconds',
    help: 'Time of a page read, by kind (stream or all)',
    labelNames: ['kind'],
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly eventsAppended = new Counter({
    name: 'event_store_events_appended_total',
    help: 'Events appended',
    registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: 'event_store_subscription_deliveries_total',
    help: 'Handler calls of subscriptions, by outcome (handled, retried, failed)',
    labelNames: ['subscription', 'outcome'],
    registers: [this.registry],
  });
  readonly httpSeconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** Open Server-Sent Events connections. */
  readonly sseConnections = new Gauge({
    name: 'event_store_sse_connections',
    help: 'Open Server-Sent Events connections',
    registers: [this.registry],
  });
  /** Ended Server-Sent Events connections, by reason (CLIENT_GONE, SLOW_CONSUMER, SHUTTING_DOWN, an error code). */
  readonly sseDisconnects = new Counter({
    name: 'event_store_sse_disconnects_total',
    help: 'Ended Server-Sent Events connections, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(EventStoreHealth) private readonly health: EventStoreHealth,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.stateGauges();
  }

  onModuleInit(): void {
    this.store.observe({
      appended: (ms, events) => {
        this.appendSeconds.observe(ms / 1000);
        this.eventsAppended.inc(events);
      },
      read: (kind, ms) => this.readSeconds.observe({ kind }, ms / 1000),
      delivered: (subscription, outcome) => this.deliveries.inc({ subscription, outcome }),
    });
  }

  /**
   * The subscriptions' lag and failures, queried once per scrape for the two gauges that show
   * them (a scrape collects them one after the other, within this window).
   */
  private subscriptionHealth(): Promise<SubscriptionHealth[]> {
    if (this.scraped === undefined || Date.now() - this.scraped.at > 1_000) {
      this.scraped = { at: Date.now(), rows: this.health.subscriptions().catch(() => []) };
    }
    return this.scraped.rows;
  }

  /** Gauges read from the store when Prometheus scrapes. */
  private stateGauges(): void {
    const health = this.health;
    const subscriptionHealth = (): Promise<SubscriptionHealth[]> => this.subscriptionHealth();
    new Gauge({
      name: 'event_store_pool_connections',
      help: 'Connections of the store pool, by state (total, idle, waiting callers)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const usage = health.poolUsage();
        this.set({ state: 'total' }, usage.total);
        this.set({ state: 'idle' }, usage.idle);
        this.set({ state: 'waiting' }, usage.waiting);
      },
    });
    new Gauge({
      name: 'event_store_all_visibility_lag_seconds',
      help: 'Age of the oldest open transaction on the server, which holds $all readers back',
      registers: [this.registry],
      async collect() {
        this.set(await health.visibilityLagSeconds().catch(() => Number.NaN));
      },
    });
    new Gauge({
      name: 'event_store_subscription_lag',
      help: 'Events after the checkpoint of each persistent subscription',
      labelNames: ['subscription'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of await subscriptionHealth()) this.set({ subscription: s.name }, s.lag);
      },
    });
    new Gauge({
      name: 'event_store_failed_deliveries',
      help: 'Failed (to be retried) and dead-lettered deliveries of each persistent subscription',
      labelNames: ['subscription', 'status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const s of await subscriptionHealth()) {
          this.set({ subscription: s.name, status: 'failed' }, s.failed);
          this.set({ subscription: s.name, status: 'dead' }, s.dead);
        }
      },
    });
  }
}
