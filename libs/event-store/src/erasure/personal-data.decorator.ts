const PERSONAL_DATA = Symbol('event-store:personal-data');
const DATA_SUBJECT = Symbol('event-store:data-subject');

/** The erasure declarations of an event class: its personal properties and its subject property. */
export interface ClassPersonalData {
  /** Properties marked `@PersonalData()`, in declaration order (a parent class's first). */
  fields: string[];
  /** Properties marked `@DataSubject()`: exactly one is valid, checked at registration. */
  subjects: string[];
}

/**
 * Marks a property of an event class as personal data of the event's data subject (see
 * {@link DataSubject}): it is stored encrypted with that subject's key, and reads as
 * `{ "$erased": true }` once `store.forgetSubject(subjectId)` has destroyed the key. The value may be
 * any JSON value (an object is encrypted whole). The property's name is its key in the stored data.
 *
 * @example
 * @EventType('PlayerRegistered')
 * export class PlayerRegistered {
 *   @DataSubject() @IsString() playerId!: string;
 *   @PersonalData() @IsEmail() email!: string;
 *   @IsString() region!: string;
 * }
 */
export function PersonalData(): PropertyDecorator {
  return (target, property) => addProperty(PERSONAL_DATA, target.constructor, property);
}

/**
 * Marks the property of an event class that holds the id of the person its
 * {@link PersonalData} belongs to (a player id: a string or an integer, stored in clear, so it
 * must not be personal data itself, e.g. not an email). One per class.
 */
export function DataSubject(): PropertyDecorator {
  return (target, property) => addProperty(DATA_SUBJECT, target.constructor, property);
}

/** The erasure declarations of a class (inherited ones included); `undefined` when it has none. */
export function classPersonalDataOf(target: object): ClassPersonalData | undefined {
  const fields = (Reflect.getMetadata(PERSONAL_DATA, target) as string[] | undefined) ?? [];
  const subjects = (Reflect.getMetadata(DATA_SUBJECT, target) as string[] | undefined) ?? [];
  return fields.length === 0 && subjects.length === 0 ? undefined : { fields, subjects };
}

/** Appends `property` to the list under `key`, copying an inherited list rather than changing the parent's. */
function addProperty(key: symbol, target: object, property: string | symbol): void {
  if (typeof property === 'symbol') {
    throw new TypeError(
      `${property.toString()} of ${(target as { name?: string }).name}: personal data and subjects must be string-named properties (JSON keys)`,
    );
  }
  const inherited = (Reflect.getMetadata(key, target) as string[] | undefined) ?? [];
  if (!inherited.includes(property)) {
    Reflect.defineMetadata(key, [...inherited, property], target);
  }
}
