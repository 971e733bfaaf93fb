import type { JsonObject } from '../types/event-data.js';

/** What an upcaster knows of the event it upcasts. */
export interface UpcastContext {
  eventId: string;
  eventType: string;
  streamId: string;
  /** The version of the payload given to this upcaster. */
  fromVersion: number;
}

/**
 * Turns a stored payload of version n into the payload of version n + 1. Upcasters run on read,
 * chained up to the class's version; stored rows never change.
 *
 * @example
 * const addHint: Upcaster = (data) => ({ ...data, hint: null });
 */
export type Upcaster = (data: JsonObject, context: UpcastContext) => JsonObject;

/** Options of {@link EventType}. */
export interface EventTypeOptions {
  /** The version of the payload's shape that this class describes. Default `1`. */
  version?: number;
  /**
   * The oldest version events of this type were ever stored at: upcasters must chain from it to
   * `version`. Default `1`; raise it for a type that was introduced at a later version.
   */
  firstVersion?: number;
  /** Upcasters keyed by the version they read: `{ 1: v1ToV2, 2: v2ToV3 }`. */
  upcasters?: Record<number, Upcaster>;
}

/** The metadata `@EventType` attaches to a class. */
export interface EventTypeDeclaration {
  name: string;
  version: number;
  firstVersion: number;
  upcasters: Record<number, Upcaster>;
}

const EVENT_TYPE = Symbol('event-store:event-type');

/**
 * Declares a class as an event type with a stable name and the version of its payload's shape.
 * The class is registered with `EventStoreModule.forFeature([...])`; mistakes (a name on two
 * classes, a bad version, a gap in the upcaster chain) stop the application's boot.
 *
 * @example
 * @EventType('GuessProcessed', { version: 2, upcasters: { 1: (data) => ({ ...data, hint: null }) } })
 * export class GuessProcessed {
 *   @IsString() guess!: string;
 *   @IsOptional() @IsString() hint: string | null = null;
 * }
 */
export function EventType(name: string, options: EventTypeOptions = {}): ClassDecorator {
  return (target) => {
    const declaration: EventTypeDeclaration = {
      name,
      version: options.version ?? 1,
      firstVersion: options.firstVersion ?? 1,
      upcasters: options.upcasters ?? {},
    };
    Reflect.defineMetadata(EVENT_TYPE, declaration, target);
  };
}

/** The `@EventType` declaration of a class, if it has one. */
export function eventTypeDeclarationOf(target: object): EventTypeDeclaration | undefined {
  return Reflect.getOwnMetadata(EVENT_TYPE, target) as EventTypeDeclaration | undefined;
}
