import { Module } from '@nestjs/common';
import { ConfigurableEventStoreConfigurationModule } from './event-store-configuration.module-definition.js';

/**
 * The store's options, resolved once (every default applied in {@link resolveEventStoreOptions})
 * from what `EventStoreModule.forRoot()`/`forRootAsync()` was given. Global: every other module
 * of the store injects `EVENT_STORE_OPTIONS`.
 */
@Module({})
export class EventStoreConfigurationModule extends ConfigurableEventStoreConfigurationModule {}
