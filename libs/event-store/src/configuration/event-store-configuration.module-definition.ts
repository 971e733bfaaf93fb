import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import type { EventStoreModuleOptions } from './event-store-options.interface.js';
import { resolveEventStoreOptions } from './resolve-event-store-options.js';

/** Injection token of the store's options with every default applied ({@link ResolvedEventStoreOptions}). */
export const EVENT_STORE_OPTIONS = Symbol('EVENT_STORE_OPTIONS');

/** Injection token of the options exactly as given to `EventStoreModule.forRoot()`/`forRootAsync()`. */
export const EVENT_STORE_MODULE_OPTIONS = Symbol('EVENT_STORE_MODULE_OPTIONS');

/**
 * What `ConfigurableModuleBuilder` makes of the options: the base class of the configuration
 * module (`forRoot`/`forRootAsync`), the injection token of the options as given, and the types of
 * both methods' arguments. The module is global and also provides the resolved options, so that
 * every part of the store reads the same ones.
 */
const definition = new ConfigurableModuleBuilder<EventStoreModuleOptions>({ optionsInjectionToken: EVENT_STORE_MODULE_OPTIONS })
  .setClassMethodName('forRoot')
  .setExtras({}, (definition) => ({
    ...definition,
    global: true,
    providers: [...(definition.providers ?? []), resolvedOptionsProvider()],
    exports: [EVENT_STORE_OPTIONS, EVENT_STORE_MODULE_OPTIONS],
  }))
  .build();

/** Base class of the configuration module: `forRoot(options)` and `forRootAsync({ useFactory, inject, imports })`. */
export const ConfigurableEventStoreConfigurationModule = definition.ConfigurableModuleClass;
/** The argument of `forRoot` (a type: use as `typeof EVENT_STORE_OPTIONS_TYPE`). */
export const EVENT_STORE_OPTIONS_TYPE = definition.OPTIONS_TYPE;
/** The argument of `forRootAsync` (a type: use as `typeof EVENT_STORE_ASYNC_OPTIONS_TYPE`). */
export const EVENT_STORE_ASYNC_OPTIONS_TYPE = definition.ASYNC_OPTIONS_TYPE;

function resolvedOptionsProvider(): Provider {
  return {
    provide: EVENT_STORE_OPTIONS,
    inject: [EVENT_STORE_MODULE_OPTIONS],
    useFactory: (options: EventStoreModuleOptions) => resolveEventStoreOptions(options),
  };
}
