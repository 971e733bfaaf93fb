import type { JsonObject } from '../types/event-data.js';

/** The key of a sealed value: appends refuse it in payloads, so that only the store writes one. */
export const SEALED_KEY = '$personal';

/**
 * A personal field as stored: its JSON value encrypted (AES-256-GCM) with its subject's key. The
 * subject id is in clear, to find the key; `kid` names that key (a keyed digest of it), so that a
 * value sealed under a key the store no longer has reads as erased rather than as corrupted;
 * `iv`, `tag` and `data` are base64.
 *
 * @example
 * { "$personal": { "v": 1, "subject": "player-7", "kid": "…", "iv": "…", "tag": "…", "data": "…" } }
 */
export interface SealedValue {
  $personal: { v: 1; subject: string; kid: string; iv: string; tag: string; data: string };
}

/** What a personal field reads as once its subject is forgotten (its key destroyed). */
export interface ErasedValue {
  $erased: true;
}

/** A sealed value found in an event's data, and where it is. */
export interface SealedSlot {
  /** The object that holds it. */
  holder: JsonObject;
  /** Its key in `holder`. */
  key: string;
  /** Its dotted path from the data's root (part of the additional data of its encryption). */
  path: string;
  sealed: SealedValue['$personal'];
}

/** A new erased value: each field gets its own object, so that one changed by a reader changes nothing else. */
export function erasedValue(): ErasedValue {
  return { $erased: true };
}

/**
 * Whether a value read from an event is an erased personal field (`{ "$erased": true }`): its
 * subject was forgotten.
 *
 * @example
 * if (isErasedValue(event.data.email)) { ... } // the player asked to be forgotten
 */
export function isErasedValue(value: unknown): value is ErasedValue {
  return typeof value === 'object' && value !== null && (value as Partial<ErasedValue>).$erased === true && Object.keys(value).length === 1;
}

/** Whether `value` is a sealed personal field exactly as the store writes one. */
export function isSealedValue(value: unknown): value is SealedValue {
  if (!isPlainObject(value) || Object.keys(value).length !== 1) {
    return false;
  }
  const inner = value[SEALED_KEY];
  if (!isPlainObject(inner)) {
    return false;
  }
  const { v, subject, kid, iv, tag, data } = inner;
  return v === 1 && [subject, kid, iv, tag, data].every((part) => typeof part === 'string');
}

/**
 * Every sealed value of a stored payload, with where it is. Sealed values sit at declared paths,
 * which go through objects only: arrays are not searched.
 */
export function sealedSlots(data: JsonObject, prefix = '', found: SealedSlot[] = []): SealedSlot[] {
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (!isPlainObject(value)) {
      continue;
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (isSealedValue(value)) {
      found.push({ holder: data, key, path, sealed: value.$personal });
    } else {
      sealedSlots(value, path, found);
    }
  }
  return found;
}

/**
 * The subjects whose personal data a stored payload holds (sealed), each once: e.g. for an export
 * that lists, or leaves out, the events of a subject.
 *
 * @example
 * sealedSubjects(JSON.parse(row.data)); // ['player-7']
 */
export function sealedSubjects(data: JsonObject): string[] {
  return [...new Set(sealedSlots(data).map((slot) => slot.sealed.subject))];
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
