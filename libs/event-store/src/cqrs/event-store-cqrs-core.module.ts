import { Global, Module } from '@nestjs/common';
import { AggregateRepository } from './aggregate.repository.js';

/**
 * The bridge's application-wide part: {@link AggregateRepository}, injectable in every module
 * (as `EventStore` is). Global, and kept apart from `EventStoreCqrsModule` so that the latter
 * stays an ordinary module: its bootstrap hook then runs after the global `CqrsModule`'s.
 */
@Global()
@Module({ providers: [AggregateRepository], exports: [AggregateRepository] })
export class EventStoreCqrsCoreModule {}
