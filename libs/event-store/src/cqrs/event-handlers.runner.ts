import type { EventBus, IEvent, UnhandledExceptionBus } from '@nestjs/cqrs';
import { filter, lastValueFrom, of } from 'rxjs';

/**
 * Runs the `@EventsHandler` handlers the `EventBus` registered for `event`, side by side, and
 * resolves once every one has finished: the bus's `eventOperators` (one per handler and event
 * class, exactly what the bus applies to its own stream, scoped handlers included), applied to
 * this one event, the way `@nestjs/cqrs` documents for publishers that wait (nestjs/cqrs#1929).
 * Nothing goes through the bus's stream, so no handler runs twice.
 *
 * The bus catches a handler's error, logs it and reports it on the `UnhandledExceptionBus`
 * (unless `rethrowUnhandled`, then it rethrows it): either way it fails this call, so the
 * subscription retries the event instead of moving its checkpoint past it.
 */
export async function runEventHandlers(eventBus: EventBus, unhandled: UnhandledExceptionBus, event: IEvent): Promise<void> {
  const failures: unknown[] = [];
  // The bus reports a failure synchronously, while its operator completes: watching for the
  // whole run catches every report about this very event object, and no other.
  const watch = unhandled.pipe(filter((info) => info.cause === event)).subscribe((info) => failures.push(info.exception));
  try {
    const outcomes = await Promise.allSettled(
      eventBus.eventOperators.map((operator) => lastValueFrom(of(event).pipe(operator), { defaultValue: undefined })),
    );
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') failures.push(outcome.reason);
    }
  } finally {
    watch.unsubscribe();
  }
  if (failures.length === 1) {
    throw failures[0];
  }
  if (failures.length > 1) {
    throw new AggregateError(failures, `${failures.length} event handlers failed: ${failures.map(String).join('; ')}`);
  }
}
