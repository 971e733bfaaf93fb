import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import type { EventStoreModuleOptions } from './event-store-options.interface.js';
import { resolveEventStoreOptions } from './resolve-event-store-options.js';

/** Injection token of the store's options with every default applied ({@link ResolvedEventStoreOptions}). */
export const EVENT_STORE_OPTIONS = Symbol('EVENT_STORE_OPTIONS');

/**
 * What `ConfigurableModuleBuilder` makes of the options: the base class of the configuration
 * module (`forRoot`/`forRootAsync`), the injection token of the options as given
 * (`EVENT_STORE_MODULE_OPTIONS`), and the types of both methods' arguments. The module is global
 * and also provides the resolved options, so that every part of the store reads the same ones.
 */
export const {
  ConfigurableModuleClass: ConfigurableEventStoreConfigurationModule,
  MODULE_OPTIONS_TOKEN: EVENT_STORE_MODULE_OPTIONS,
  OPTIONS_TYPE: EVENT_STORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: EVENT_STORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<EventStoreModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({}, (definition) => ({
    ...definition,
    global: true,
    providers: [...(definition.providers ?? []), resolvedOptionsProvider()],
    exports: [EVENT_STORE_OPTIONS],
  }))
  .build();

function resolvedOptionsProvider(): Provider {
  return {
    provide: EVENT_STORE_OPTIONS,
    inject: [EVENT_STORE_MODULE_OPTIONS],
    useFactory: (options: EventStoreModuleOptions) => resolveEventStoreOptions(options),
  };
}
