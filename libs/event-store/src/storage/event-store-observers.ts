import { Injectable } from '@nestjs/common';
import type { EventStoreObserver } from '../types/event-store-observer.js';

/** Everyone watching the store's work (metrics): appends, reads and deliveries are reported here. */
@Injectable()
export class EventStoreObservers {
  private readonly observers: EventStoreObserver[] = [];

  /** Reports to `observer` from now on. */
  add(observer: EventStoreObserver): void {
    this.observers.push(observer);
  }

  /** An append committed. */
  appended(durationMs: number, events: number): void {
    this.observers.forEach((observer) => observer.appended?.(durationMs, events));
  }

  /** A read returned. */
  read(kind: 'stream' | 'all', durationMs: number, events: number): void {
    this.observers.forEach((observer) => observer.read?.(kind, durationMs, events));
  }

  /** A subscription's handler call ended. */
  delivered(subscription: string, outcome: 'handled' | 'retried' | 'failed'): void {
    this.observers.forEach((observer) => observer.delivered?.(subscription, outcome));
  }
}
