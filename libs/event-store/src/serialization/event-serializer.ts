import { instanceToPlain, plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { isErasedAt } from '../erasure/erased-fields.js';
import { CorruptedEventError } from '../errors/corrupted-event.error.js';
import { EventValidationFailedError } from '../errors/event-validation-failed.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { UnknownEventTypeError } from '../errors/unknown-event-type.error.js';
import { UnsupportedSchemaVersionError } from '../errors/unsupported-schema-version.error.js';
import type { AppendOptions } from '../types/append-result.js';
import type { EventData, JsonObject, RecordedEvent } from '../types/event-data.js';
import {
  assertAppendSize,
  assertSchemaVersion,
  isObject,
  optionalUuid,
  refuseRepeatedIds,
  type NewEventRecord,
} from '../validation/event-data.validation.js';
import { assertName } from '../validation/stream-id.validation.js';
import { plainCopyToInstance } from './class-transformer-metadata.js';
import type { EventTypeRegistry, RegisteredEventType } from './event-type-registry.js';
import { eventTypeDeclarationOf } from './event-type.decorator.js';
import { assertJsonPayload, assertTransformableInstance } from './json-payload.js';
import { describeFailures, fieldFailures } from './validation-failures.js';
import { optionalTags } from '../validation/tags.validation.js';

/** What the store does with event types no class is registered for. */
export type UnregisteredEventTypes = 'allow' | 'reject';

/** One item of an append, resolved: its envelope, and its registration when it has one. */
interface ResolvedEvent {
  envelope: Partial<EventData>;
  registration?: RegisteredEventType;
  /** The payload as a registered class instance, when the caller gave one. */
  instance?: object;
}

const VALIDATION = { forbidUnknownValues: false } as const;
// Properties a class declares but the instance leaves unset are left out, not stored as null.
const TO_PLAIN = { exposeUnsetFields: false } as const;

/**
 * Turns what callers append into stored records, and stored events back into what callers read:
 * instances of registered event classes, validated on the way in, upcast to the latest version
 * and restored as instances on the way out. Unregistered types pass as plain JSON (or are refused,
 * by option).
 */
export class EventSerializer {
  constructor(
    private readonly registry: EventTypeRegistry,
    private readonly unregistered: UnregisteredEventTypes,
  ) {}

  /**
   * Checks a whole append before anything is sent, and gives each event its id now, so that a
   * retry of the same call re-sends the same ids and is idempotent. Errors name each event as
   * `${name}[index]`.
   */
  toRecords(events: unknown, maxEvents: number, options: AppendOptions = {}, streamId = '', name = 'events'): NewEventRecord[] {
    assertAppendSize(events, maxEvents);
    const defaults = appendDefaults(options);
    const records = events.map((event, index) => this.toRecord(event, `${name}[${index}]`, defaults, streamId));
    refuseRepeatedIds(records);
    return records;
  }

  /** A stored event as the caller reads it: typed and upcast when its type is registered. */
  fromStored(event: RecordedEvent): RecordedEvent {
    if (this.registry.isEmpty && this.unregistered === 'allow') {
      return event;
    }
    const registration = this.registry.forName(event.eventType);
    if (registration === undefined) {
      if (this.unregistered === 'reject') {
        throw new UnknownEventTypeError(event.eventType);
      }
      return event;
    }
    const data = this.upcast(event, registration);
    let instance: object;
    try {
      // Not upcast: `data` is what JSON.parse made for this event alone, plain JSON shared with nothing.
      instance = toInstance(registration, data, event.schemaVersion === registration.version);
    } catch (error) {
      throw new CorruptedEventError(event, `it cannot be read as a ${registration.target.name}: ${(error as Error).message}`);
    }
    if (event.schemaVersion < registration.version) {
      this.validateRead(event, instance);
    }
    return withData(event, instance as JsonObject);
  }

  private toRecord(event: unknown, at: string, defaults: EventDefaults, streamId: string): NewEventRecord {
    const { envelope, registration, instance } = this.resolve(event, at);
    const eventId = optionalUuid(envelope.eventId, `${at}.eventId`) ?? randomUUID();
    const eventType = registration?.name ?? envelope.eventType!;
    if (instance !== undefined && envelope.schemaVersion !== undefined && envelope.schemaVersion !== registration!.version) {
      throw new InvalidArgumentError(
        `${at}: an instance of ${registration!.target.name} is version ${registration!.version}, not ${String(envelope.schemaVersion)}`,
        { at },
      );
    }
    const schemaVersion = this.schemaVersionOf(envelope, registration, at);
    const data = instance
      ? this.instancePayload(instance, registration!, at)
      : this.plainPayload(envelope, registration, schemaVersion, { at, eventId, streamId });
    if (envelope.metadata !== undefined && !isObject(envelope.metadata)) {
      throw new InvalidArgumentError(`${at}: metadata must be a JSON object`, { at });
    }
    const metadata = defaults.metadataKeys === 0 ? (envelope.metadata ?? {}) : { ...defaults.metadata, ...envelope.metadata };
    assertJsonPayload(metadata, `${at}.metadata`);
    return {
      event_id: eventId,
      event_type: eventType,
      schema_version: schemaVersion,
      data,
      metadata,
      causation_id: optionalUuid(envelope.causationId, `${at}.causationId`) ?? defaults.causationId,
      correlation_id: optionalUuid(envelope.correlationId, `${at}.correlationId`) ?? defaults.correlationId,
      tags: optionalTags(envelope.tags, `${at}.tags`),
    };
  }

  /** Finds out what an item is: a registered instance, an envelope around one, or plain data. */
  private resolve(event: unknown, at: string): ResolvedEvent {
    if (!isObject(event)) {
      throw new InvalidArgumentError(`${at}: must be an event object or an instance of a registered event class`, { at });
    }
    const bare = this.registry.forInstance(event);
    if (bare !== undefined) {
      return { envelope: { data: event as JsonObject }, registration: bare, instance: event };
    }
    this.refuseUnregisteredInstance(event, at);
    const envelope = event as Partial<EventData>;
    if (isObject(envelope.data) && this.registry.forInstance(envelope.data) === undefined) {
      this.refuseUnregisteredInstance(envelope.data, `${at}.data`);
    }
    const typed = isObject(envelope.data) ? this.registry.forInstance(envelope.data) : undefined;
    if (typed !== undefined) {
      if (envelope.eventType !== undefined && envelope.eventType !== typed.name) {
        throw new InvalidArgumentError(
          `${at}: eventType '${envelope.eventType}' differs from the data's class, registered as '${typed.name}'`,
          { at },
        );
      }
      return { envelope, registration: typed, instance: envelope.data };
    }
    assertName(envelope.eventType, `${at}.eventType`);
    const registration = this.registry.forName(envelope.eventType);
    if (registration === undefined && this.unregistered === 'reject') {
      throw new UnknownEventTypeError(envelope.eventType);
    }
    return { envelope, registration };
  }

  /** An object of some class that is not registered: neither a plain event nor a typed one. */
  private refuseUnregisteredInstance(value: object, at: string): void {
    const prototype = Object.getPrototypeOf(value) as object | null;
    if (prototype === Object.prototype || prototype === null) {
      return;
    }
    const declared = eventTypeDeclarationOf(value.constructor);
    const className = value.constructor?.name ?? 'an unnamed class';
    if (this.unregistered === 'reject') {
      throw new UnknownEventTypeError(declared?.name ?? className);
    }
    throw new InvalidArgumentError(
      `${at}: an instance of ${className}, which is not registered: add it to EventStoreModule.forFeature([...])${
        declared ? '' : ' with an @EventType(...) decorator'
      }, or append a plain { eventType, data } object`,
      { at, className },
    );
  }

  private schemaVersionOf(envelope: Partial<EventData>, registration: RegisteredEventType | undefined, at: string): number {
    const version = envelope.schemaVersion ?? registration?.version ?? 1;
    assertSchemaVersion(version, `${at}.schemaVersion`);
    if (registration !== undefined && (version > registration.version || version < registration.firstVersion)) {
      throw new UnsupportedSchemaVersionError(registration.name, version, registration.version);
    }
    return version;
  }

  private instancePayload(instance: object, registration: RegisteredEventType, at: string): JsonObject {
    this.validateWrite(instance, registration, at);
    if (registration.transformed) {
      assertTransformableInstance(instance, `${at}.data`);
    }
    const data = registration.transformed ? (instanceToPlain(instance, TO_PLAIN) as JsonObject) : setProperties(instance);
    assertJsonPayload(data, `${at}.data`);
    return data;
  }

  private plainPayload(
    envelope: Partial<EventData>,
    registration: RegisteredEventType | undefined,
    schemaVersion: number,
    context: { at: string; eventId: string; streamId: string },
  ): JsonObject {
    const { at } = context;
    if (!isObject(envelope.data)) {
      throw new InvalidArgumentError(`${at}: data must be a JSON object`, { at });
    }
    assertJsonPayload(envelope.data, `${at}.data`);
    if (registration !== undefined) {
      // Plain JSON of a registered type must fit its class too, once upcast to the latest version;
      // the upcasters get a copy, so what is stored is what the caller gave.
      this.validateWrite(this.latestInstance(structuredClone(envelope.data), registration, schemaVersion, context), registration, at);
    }
    return envelope.data;
  }

  /** A payload upcast to the latest version, as an instance; user code failing here is the payload's fault. */
  private latestInstance(
    data: JsonObject,
    registration: RegisteredEventType,
    schemaVersion: number,
    context: { at: string; eventId: string; streamId: string },
  ): object {
    try {
      return toInstance(registration, this.upcastPayload(data, registration, schemaVersion, context));
    } catch (error) {
      throw new EventValidationFailedError(
        `${context.at} (${registration.name} version ${schemaVersion}) cannot be read as a ${registration.target.name}: ${(error as Error).message}`,
        { at: context.at, eventType: registration.name, fields: [] },
      );
    }
  }

  private validateWrite(instance: object, registration: RegisteredEventType, at: string): void {
    const failures = fieldFailures(validateSync(instance, VALIDATION));
    if (failures.length > 0) {
      throw new EventValidationFailedError(`${at} (${registration.name}) fails validation: ${describeFailures(failures)}`, {
        at,
        eventType: registration.name,
        fields: failures,
      });
    }
  }

  private validateRead(event: RecordedEvent, instance: object): void {
    // An erased personal field cannot pass its rules, and is not the stored payload's fault.
    const failures = fieldFailures(validateSync(instance, VALIDATION)).filter((failure) => !isErasedAt(instance, failure.property));
    if (failures.length > 0) {
      throw new EventValidationFailedError(
        `Event ${event.eventId} ('${event.eventType}' version ${event.schemaVersion}, stream '${event.streamId}' version ${event.streamVersion}) fails validation after upcasting: ${describeFailures(failures)}`,
        {
          eventId: event.eventId,
          eventType: event.eventType,
          streamId: event.streamId,
          streamVersion: event.streamVersion,
          fields: failures,
        },
      );
    }
  }

  private upcast(event: RecordedEvent, registration: RegisteredEventType): JsonObject {
    if (event.schemaVersion > registration.version || event.schemaVersion < registration.firstVersion) {
      throw new UnsupportedSchemaVersionError(event.eventType, event.schemaVersion, registration.version, event.eventId);
    }
    try {
      return this.upcastPayload(event.data, registration, event.schemaVersion, event);
    } catch (error) {
      throw new CorruptedEventError(event, `upcasting it failed: ${(error as Error).message}`);
    }
  }

  /** Runs the upcasters from `fromVersion` to the latest; `event` names the event for them (empty before it is stored). */
  private upcastPayload(
    data: JsonObject,
    registration: RegisteredEventType,
    fromVersion: number,
    event: { eventId: string; streamId: string },
  ): JsonObject {
    let payload = data;
    for (let version = fromVersion; version < registration.version; version++) {
      const context = { eventId: event.eventId, eventType: registration.name, streamId: event.streamId, fromVersion: version };
      payload = registration.upcasters.get(version)!(payload, context);
    }
    return payload;
  }
}

interface EventDefaults {
  metadata: JsonObject;
  /** Keys in `metadata`: with none, an event's own metadata is used as it is, uncopied. */
  metadataKeys: number;
  causationId: string | null;
  correlationId: string | null;
}

function appendDefaults(options: AppendOptions): EventDefaults {
  const metadata = options.metadata ?? {};
  if (!isObject(metadata)) {
    throw new InvalidArgumentError('options.metadata must be a JSON object');
  }
  const cause = options.causedBy;
  return {
    metadata,
    metadataKeys: Object.keys(metadata).length,
    causationId: cause ? optionalUuid(cause.eventId, 'causedBy.eventId') : null,
    correlationId: cause
      ? (optionalUuid(cause.correlationId, 'causedBy.correlationId') ?? optionalUuid(cause.eventId, 'causedBy.eventId'))
      : null,
  };
}

/**
 * An instance of the registered class holding `data`: what `plainToInstance` gives, through a plain
 * copy when class-transformer has nothing to do for the class and the payload is plain JSON
 * (`parsed`: freshly parsed and owned by this event, so its values are taken as they are).
 */
function toInstance(registration: RegisteredEventType, data: JsonObject, parsed = false): object {
  const copied = registration.transformed ? undefined : plainCopyToInstance(registration.target, data, parsed);
  return copied ?? plainToInstance(registration.target, data);
}

/** The properties an instance has set, as a plain object: unset (undefined) ones are left out. */
function setProperties(instance: object): JsonObject {
  const data: JsonObject = {};
  for (const key of Object.keys(instance)) {
    const value = (instance as JsonObject)[key];
    if (value !== undefined) {
      data[key] = value;
    }
  }
  return data;
}

/** The same event with another payload, built field by field (a spread here is measurably slow). */
function withData(event: RecordedEvent, data: JsonObject): RecordedEvent {
  const typed: RecordedEvent = {
    globalPosition: event.globalPosition,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    eventId: event.eventId,
    eventType: event.eventType,
    schemaVersion: event.schemaVersion,
    data,
    metadata: event.metadata,
    causationId: event.causationId,
    correlationId: event.correlationId,
    createdAt: event.createdAt,
  };
  if (event.tags !== undefined) typed.tags = event.tags;
  if (event.link !== undefined) typed.link = event.link;
  return typed;
}
