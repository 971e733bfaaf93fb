import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { ErasureOptions } from '../configuration/event-store-options.interface.js';
import { SUBJECT_KEY_BYTES } from './subject-cipher.js';
import { SubjectKeyUnavailableError } from './subject-key-unavailable.error.js';

const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_FORMAT = 'must be 32 bytes, as base64 (44 characters) or hex (64 characters): generate one with `openssl rand -base64 32`';

/** A subject key as stored: wrapped by the master key `masterKeyId`, or as it is (`null`). */
export interface StoredSubjectKey {
  key: Buffer;
  masterKeyId: string | null;
}

/**
 * Parses a master key given as 64 hex characters, base64 of 32 bytes (standard or URL-safe), or
 * 32 bytes. Throws a message naming `label` (an option or a variable), never the value.
 *
 * @example
 * parseMasterKey(process.env.EVENT_STORE_MASTER_KEY!, 'EVENT_STORE_MASTER_KEY');
 */
export function parseMasterKey(value: string | Uint8Array, label: string): Buffer {
  if (value instanceof Uint8Array) {
    if (value.length !== MASTER_KEY_BYTES) throw new Error(`${label} ${KEY_FORMAT}`);
    return Buffer.from(value);
  }
  const text = typeof value === 'string' ? value.trim() : '';
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (key?.length !== MASTER_KEY_BYTES) {
    throw new Error(`${label} ${KEY_FORMAT}`);
  }
  return key;
}

/**
 * The master keys of a store: the current one wraps new subject keys, it and the previous ones
 * unwrap. A wrapped key is stored as IV, tag and ciphertext, with the subject id as additional
 * data (a wrapped key copied to another subject's row does not unwrap there), and names its master
 * key by an id derived from it (a keyed digest: it tells nothing of the key). The keys live in
 * private fields, out of sight of anything that prints the options.
 */
export class MasterKeys {
  readonly #current: { id: string; key: Buffer } | undefined;
  readonly #keys: ReadonlyMap<string, Buffer>;

  private constructor(current: Buffer | undefined, previous: Buffer[]) {
    this.#current = current === undefined ? undefined : { id: masterKeyIdOf(current), key: current };
    this.#keys = new Map([...previous, ...(current === undefined ? [] : [current])].map((key) => [masterKeyIdOf(key), key]));
  }

  /** The keys of the `erasure` option, checked; throws one message naming the option at fault. */
  static from(options: ErasureOptions = {}): MasterKeys {
    const previous = (options.previousMasterKeys ?? []).map((key, index) => parseMasterKey(key, `erasure.previousMasterKeys[${index}]`));
    if (options.masterKey === undefined && previous.length > 0) {
      throw new Error(
        'erasure.previousMasterKeys is set but erasure.masterKey is not: previous keys only unwrap; set the key to wrap with',
      );
    }
    return new MasterKeys(options.masterKey === undefined ? undefined : parseMasterKey(options.masterKey, 'erasure.masterKey'), previous);
  }

  /** The id of the current master key (safe to show), or `undefined` when keys are stored unwrapped. */
  get currentId(): string | undefined {
    return this.#current?.id;
  }

  /** A new subject key as it is to be stored: wrapped by the current master key if there is one. */
  wrap(subjectId: string, subjectKey: Buffer): StoredSubjectKey {
    if (this.#current === undefined) {
      return { key: subjectKey, masterKeyId: null };
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(subjectId));
    const wrapped = Buffer.concat([cipher.update(subjectKey), cipher.final()]);
    return { key: Buffer.concat([iv, cipher.getAuthTag(), wrapped]), masterKeyId: this.#current.id };
  }

  /** A stored subject key, unwrapped; {@link SubjectKeyUnavailableError} saying what to fix when it cannot be. */
  unwrap(subjectId: string, stored: StoredSubjectKey): Buffer {
    if (stored.masterKeyId === null) {
      return this.checked(subjectId, stored.key, 'its stored key is not 32 bytes (altered)');
    }
    const master = this.#keys.get(stored.masterKeyId);
    if (master === undefined) {
      throw new SubjectKeyUnavailableError(
        subjectId,
        `it is wrapped by master key ${stored.masterKeyId}, which is neither the configured master key (${this.#current?.id ?? 'none is configured'}) nor a previous one: configure that key (option erasure.masterKey, or erasure.previousMasterKeys after a rotation; EVENT_STORE_MASTER_KEY / EVENT_STORE_PREVIOUS_MASTER_KEYS for the service and the command line)`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', master, stored.key.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(subjectId));
      decipher.setAuthTag(stored.key.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return this.checked(subjectId, Buffer.concat([decipher.update(stored.key.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]), '');
    } catch (error) {
      if (error instanceof SubjectKeyUnavailableError) throw error;
      throw new SubjectKeyUnavailableError(
        subjectId,
        `it does not unwrap with master key ${stored.masterKeyId}: its stored bytes were altered, or another key has that id`,
      );
    }
  }

  private checked(subjectId: string, key: Buffer, reason: string): Buffer {
    if (key.length !== SUBJECT_KEY_BYTES) {
      throw new SubjectKeyUnavailableError(subjectId, reason || 'it does not unwrap to 32 bytes (altered)');
    }
    return key;
  }
}

/** 8 base64url characters naming a master key: a keyed digest, so that they say nothing of the key. */
function masterKeyIdOf(key: Buffer): string {
  return createHmac('sha256', key).update('event-store master key id').digest().subarray(0, 6).toString('base64url');
}

function additionalData(subjectId: string): Buffer {
  return Buffer.from(`event-store subject key v1\u001f${subjectId}`, 'utf8');
}
