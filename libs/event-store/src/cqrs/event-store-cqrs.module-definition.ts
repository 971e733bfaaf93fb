import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { resolveEventStoreCqrsOptions, type EventStoreCqrsModuleOptions } from './event-store-cqrs-options.interface.js';

/** Injection token of the options exactly as given to `EventStoreCqrsModule.forRoot()`/`forRootAsync()`. */
export const EVENT_STORE_CQRS_MODULE_OPTIONS = Symbol('EVENT_STORE_CQRS_MODULE_OPTIONS');

/** Injection token of the bridge's options with every default applied (`ResolvedEventStoreCqrsOptions`). */
export const EVENT_STORE_CQRS_OPTIONS = Symbol('EVENT_STORE_CQRS_OPTIONS');

/**
 * What `ConfigurableModuleBuilder` makes of the options: the base class of `EventStoreCqrsModule`
 * (`forRoot`/`forRootAsync`), plus a provider of the resolved options, so that a bad option stops
 * the boot.
 */
const definition = new ConfigurableModuleBuilder<EventStoreCqrsModuleOptions>({ optionsInjectionToken: EVENT_STORE_CQRS_MODULE_OPTIONS })
  .setClassMethodName('forRoot')
  .setExtras({}, (definition) => ({ ...definition, providers: [...(definition.providers ?? []), resolvedOptionsProvider()] }))
  .build();

/** Base class of `EventStoreCqrsModule`: `forRoot(options)` and `forRootAsync({ useFactory, inject, imports })`. */
export const ConfigurableEventStoreCqrsModule = definition.ConfigurableModuleClass;
/** The argument of `forRoot` (a type: use as `typeof EVENT_STORE_CQRS_OPTIONS_TYPE`). */
export const EVENT_STORE_CQRS_OPTIONS_TYPE = definition.OPTIONS_TYPE;
/** The argument of `forRootAsync` (a type: use as `typeof EVENT_STORE_CQRS_ASYNC_OPTIONS_TYPE`). */
export const EVENT_STORE_CQRS_ASYNC_OPTIONS_TYPE = definition.ASYNC_OPTIONS_TYPE;

function resolvedOptionsProvider(): Provider {
  return {
    provide: EVENT_STORE_CQRS_OPTIONS,
    inject: [EVENT_STORE_CQRS_MODULE_OPTIONS],
    useFactory: (options: EventStoreCqrsModuleOptions) => resolveEventStoreCqrsOptions(options),
  };
}
