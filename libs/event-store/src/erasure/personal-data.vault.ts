import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { EVENT_STORE_OPTIONS } from '../configuration/event-store-configuration.module-definition.js';
import type { ResolvedEventStoreOptions } from '../configuration/resolve-event-store-options.js';
import { CorruptedEventError } from '../errors/corrupted-event.error.js';
import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { EventTypeRegistry } from '../serialization/event-type-registry.js';
import type { DatabaseSession } from '../storage/database-executor.js';
import type { StreamWrite } from '../storage/events.repository.js';
import type { JsonObject, RecordedEvent } from '../types/event-data.js';
import type { NewEventRecord } from '../validation/event-data.validation.js';
import { assertName } from '../validation/stream-id.validation.js';
import type { ForgetSubjectResult } from './forget-subject-result.js';
import { classPersonalFields, type PersonalFieldPath, type PersonalFields } from './personal-data-declaration.js';
import { erasedValue, sealedSlots, type SealedSlot } from './personal-envelope.js';
import { mayBeSealed } from './sealed-events.js';
import { SUBJECT_KEY_BYTES, SubjectCipher } from './subject-cipher.js';
import { SubjectForgottenError } from './subject-forgotten.error.js';
import type { SubjectKeyRow } from './subject-keys.sql.js';
import { SubjectKeysRepository } from './subject-keys.repository.js';

/** Events of one append to seal, and the name errors give them (`events`, `streams[2].events`). */
interface RecordsToSeal {
  records: NewEventRecord[];
  name: string;
}

/** A record with personal fields present: what to seal, and for whom. */
interface PendingSeal {
  record: NewEventRecord;
  at: string;
  subjectId: string;
  fields: PersonalFieldPath[];
}

/**
 * Crypto-shredding of personal data. On append, the personal fields each event type declares
 * (`@PersonalData()` on its class, or the `personalData` option) are replaced by sealed values,
 * encrypted with their subject's key, made on first use; the stored payload, and so its checksum,
 * never holds them in clear. On read, sealed values are opened again, or read as
 * `{ "$erased": true }` once the subject is forgotten: `forgetSubject` destroys its key. Keys are
 * fetched per append and per page read (one query, only for a page that holds sealed values),
 * never cached: a forget made by another process applies to the next read here.
 */
@Injectable()
export class PersonalDataVault implements OnModuleInit {
  private readonly classFields = new Map<string, PersonalFields | undefined>();

  /** @internal Made by Nest's injector. */
  constructor(
    @Inject(EVENT_STORE_OPTIONS) private readonly options: ResolvedEventStoreOptions,
    @Inject(EventTypeRegistry) private readonly registry: EventTypeRegistry,
    @Inject(SubjectKeysRepository) private readonly keys: SubjectKeysRepository,
  ) {}

  /** A type declared by the `personalData` option and by its class too is a mistake that stops the boot. */
  onModuleInit(): void {
    const twice = [...this.options.personalData.keys()].filter((eventType) => this.classDeclaration(eventType) !== undefined);
    if (twice.length > 0) {
      throw new Error(
        `Personal data of ${twice.map((type) => `'${type}'`).join(', ')} is declared twice, by the personalData option and by @PersonalData() on the class: keep one`,
      );
    }
  }

  /**
   * Seals the personal fields of the events of one append in place (their `data` replaced by a
   * copy; the caller's objects are left alone), on `session` when the append runs in the caller's
   * transaction. Refuses personal data of a forgotten subject.
   */
  async seal(records: NewEventRecord[], session?: DatabaseSession, timeoutMs?: number): Promise<void> {
    await this.sealAll([{ records, name: 'events' }], session, timeoutMs);
  }

  /** {@link seal} for the entries of a multi-stream append, named as `toStreamWrites` names them. */
  async sealWrites(writes: StreamWrite[], session?: DatabaseSession, timeoutMs?: number): Promise<void> {
    await this.sealAll(
      writes.map((write, index) => ({ records: write.events ?? [], name: `streams[${index}].events` })),
      session,
      timeoutMs,
    );
  }

  private async sealAll(appends: RecordsToSeal[], session: DatabaseSession | undefined, timeoutMs: number | undefined): Promise<void> {
    const pending = appends.flatMap(({ records, name }) =>
      records.flatMap((record, index) => this.pendingSeal(record, `${name}[${index}]`)),
    );
    if (pending.length === 0) {
      return;
    }
    const subjectIds = [...new Set(pending.map((seal) => seal.subjectId))];
    const rows = await this.keys.obtain(subjectIds, (subjectId) => this.newKey(subjectId), session, this.deadline(timeoutMs));
    const ciphers = this.ciphers(rows);
    for (const seal of pending) {
      // `obtain` returns a row for every subject: a live key, or the tombstone of a forgotten one.
      const cipher = ciphers.get(seal.subjectId)!;
      if (cipher instanceof Date) {
        throw new SubjectForgottenError(seal.subjectId, cipher, seal.at);
      }
      seal.record.data = sealedCopy(seal.record.data, seal.fields, cipher, seal.record.event_id);
    }
  }

  /**
   * Opens the sealed values of events just read, in place: each becomes its value again, or
   * `{ "$erased": true }` when its subject is forgotten (or has no key in this store). Events whose
   * stored text holds no sealed value are not searched, and a page without any costs no query.
   */
  async reveal(events: RecordedEvent[]): Promise<void> {
    const found: Array<{ event: RecordedEvent; slot: SealedSlot }> = [];
    for (const event of events) {
      if (mayBeSealed(event)) {
        sealedSlots(event.data).forEach((slot) => found.push({ event, slot }));
      }
    }
    if (found.length === 0) {
      return;
    }
    const ciphers = this.ciphers(await this.keys.find([...new Set(found.map(({ slot }) => slot.sealed.subject))]));
    for (const { event, slot } of found) {
      const cipher = ciphers.get(slot.sealed.subject);
      // A value sealed under a key this store no longer has (forgotten; or the events were copied
      // here without their keys, and the subject got a new one since) is erased, not corrupted.
      const opens = cipher instanceof SubjectCipher && cipher.keyId === slot.sealed.kid;
      slot.holder[slot.key] = opens ? open(cipher, event, slot) : erasedValue();
    }
  }

  /** See `EventStore.forgetSubject`. */
  async forget(subjectId: string): Promise<ForgetSubjectResult> {
    assertName(subjectId, 'subjectId');
    const row = await this.keys.forget(subjectId);
    return { subjectId, forgottenAt: row.forgotten_at, alreadyForgotten: row.already };
  }

  /** The record's personal fields that are present, with its subject; none when it has no personal data. */
  private pendingSeal(record: NewEventRecord, at: string): PendingSeal[] {
    const declaration = this.declarationOf(record.event_type);
    if (declaration === undefined) {
      return [];
    }
    const fields = declaration.fields.filter((field) => isPresent(record.data, field, at));
    if (fields.length === 0) {
      return [];
    }
    return [{ record, at, subjectId: subjectIdOf(record.data, declaration, fields, at), fields }];
  }

  private declarationOf(eventType: string): PersonalFields | undefined {
    return this.options.personalData.get(eventType) ?? this.classDeclaration(eventType);
  }

  /** Cached for registered types only: plain appends may name any number of types. */
  private classDeclaration(eventType: string): PersonalFields | undefined {
    const target = this.registry.forName(eventType)?.target;
    if (target === undefined) {
      return undefined;
    }
    if (!this.classFields.has(eventType)) {
      this.classFields.set(eventType, classPersonalFields(eventType, target));
    }
    return this.classFields.get(eventType);
  }

  private newKey(subjectId: string): { key: Buffer; masterKeyId: string | null } {
    return this.options.masterKeys.wrap(subjectId, randomBytes(SUBJECT_KEY_BYTES));
  }

  /** A cipher per subject with a live key; the date it was forgotten for a tombstone. */
  private ciphers(rows: SubjectKeyRow[]): Map<string, SubjectCipher | Date> {
    const ciphers = new Map<string, SubjectCipher | Date>();
    for (const row of rows) {
      const { subject_id: subjectId, key, master_key_id: masterKeyId } = row;
      ciphers.set(
        subjectId,
        key === null ? row.forgotten_at! : new SubjectCipher(subjectId, this.options.masterKeys.unwrap(subjectId, { key, masterKeyId })),
      );
    }
    return ciphers;
  }

  private deadline(timeoutMs: number | undefined): number {
    return Date.now() + (timeoutMs ?? this.options.operationTimeoutMs);
  }
}

/**
 * Whether the field is in the payload. `null` on the way means absent (nothing personal there); any
 * other non-object on the way is refused, since the field could not be sealed and would be stored in clear.
 */
function isPresent(data: JsonObject, field: PersonalFieldPath, at: string): boolean {
  let holder: unknown = data;
  for (const [index, key] of field.keys.entries()) {
    if (holder === null || holder === undefined) {
      return false;
    }
    if (typeof holder !== 'object' || Array.isArray(holder)) {
      const where = `${at}.data.${field.keys.slice(0, index).join('.')}`;
      throw new InvalidArgumentError(
        `${where} must be an object: it is on the path of personal field '${field.path}', which is stored encrypted; declare '${field.keys.slice(0, index).join('.')}' as personal instead`,
        { at: where, field: field.path },
      );
    }
    if (!Object.hasOwn(holder, key)) {
      return false;
    }
    holder = (holder as JsonObject)[key];
  }
  return true;
}

/** The subject id of a payload with personal fields: a string (a name's rules) or an integer. */
function subjectIdOf(data: JsonObject, declaration: PersonalFields, fields: PersonalFieldPath[], at: string): string {
  let value: unknown = data;
  for (const key of declaration.subject.keys) {
    value = typeof value === 'object' && value !== null ? (value as JsonObject)[key] : undefined;
  }
  if (Number.isSafeInteger(value)) {
    return String(value);
  }
  const where = `${at}.data.${declaration.subject.path}`;
  try {
    assertName(value, where);
  } catch {
    throw new InvalidArgumentError(
      `${where} must hold the id of the data subject (a string of 1 to 200 characters without control characters, or an integer): '${declaration.eventType}' stores ${fields.map((field) => field.path).join(', ')} encrypted with that subject's key`,
      { at: where, eventType: declaration.eventType },
    );
  }
  return value as string;
}

/** A copy of `data` with `fields` sealed: the objects on their paths are copied, the rest is shared. */
function sealedCopy(data: JsonObject, fields: PersonalFieldPath[], cipher: SubjectCipher, eventId: string): JsonObject {
  const root: JsonObject = { ...data };
  const copies = new Set<object>([root]);
  for (const field of fields) {
    let holder = root;
    for (const key of field.keys.slice(0, -1)) {
      let next = holder[key] as JsonObject;
      if (!copies.has(next)) {
        next = { ...next };
        copies.add(next);
        holder[key] = next;
      }
      holder = next;
    }
    const last = field.keys.at(-1)!;
    holder[last] = cipher.seal(holder[last], eventId, field.path);
  }
  return root;
}

function open(cipher: SubjectCipher, event: RecordedEvent, slot: SealedSlot): unknown {
  try {
    return cipher.open(slot.sealed, event.eventId, slot.path);
  } catch {
    throw new CorruptedEventError(
      event,
      `its personal field '${slot.path}' does not decrypt with the key of subject '${slot.sealed.subject}'`,
    );
  }
}
