import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { EventStoreModuleOptions } from './configuration/event-store-options.interface.js';

/** Extra options of `forRoot`/`forRootAsync` that shape the module rather than the store. */
export interface EventStoreModuleExtras {
  /** Make `EventStore` injectable everywhere without importing the module again. Default `false`. */
  isGlobal?: boolean;
}

/**
 * What `ConfigurableModuleBuilder` makes of the options: the base class of `EventStoreModule`
 * (`forRoot`/`forRootAsync`), the injection token of the options as given
 * (`EVENT_STORE_MODULE_OPTIONS`), and the types of both methods' arguments.
 */
export const {
  ConfigurableModuleClass: ConfigurableEventStoreModule,
  MODULE_OPTIONS_TOKEN: EVENT_STORE_MODULE_OPTIONS,
  OPTIONS_TYPE: EVENT_STORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: EVENT_STORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<EventStoreModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<EventStoreModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
