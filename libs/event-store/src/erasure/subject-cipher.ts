import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import type { SealedValue } from './personal-envelope.js';

/** Bytes of a subject's key (AES-256). */
export const SUBJECT_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts and decrypts the personal fields of one subject with AES-256-GCM under keys derived
 * (HKDF-SHA256) from the subject's key: one to encrypt, one to make IVs, and the key's id.
 *
 * The IV is synthetic: an HMAC of the additional data and the plaintext, cut to 12 bytes. The same
 * value of the same field of the same event thus seals to the same bytes, which keeps a re-sent
 * append idempotent (its checksum compares equal to the stored one); any other difference gives
 * another IV. It reveals only that two sealed values are one value of one field of one event.
 * The additional data (subject, event id, field path) ties a sealed value to its place: copied to
 * another event, field or subject, it no longer opens.
 */
export class SubjectCipher {
  /** Names the subject key (a digest derived from it, which tells nothing of it). */
  readonly keyId: string;
  readonly #encryptionKey: Buffer;
  readonly #ivKey: Buffer;

  constructor(
    readonly subjectId: string,
    subjectKey: Buffer,
  ) {
    // One HKDF call for all three (a call costs about 20 µs, and a page read makes one per subject).
    const derived = Buffer.from(hkdfSync('sha256', subjectKey, Buffer.alloc(0), 'event-store personal data v1', 2 * SUBJECT_KEY_BYTES + 6));
    this.#encryptionKey = derived.subarray(0, SUBJECT_KEY_BYTES);
    this.#ivKey = derived.subarray(SUBJECT_KEY_BYTES, 2 * SUBJECT_KEY_BYTES);
    this.keyId = derived.subarray(2 * SUBJECT_KEY_BYTES).toString('base64url');
  }

  /** Seals `value` (any JSON value) as field `path` of event `eventId`. */
  seal(value: unknown, eventId: string, path: string): SealedValue {
    const aad = this.additionalData(eventId, path);
    const plaintext = Buffer.from(JSON.stringify(value), 'utf8');
    const iv = createHmac('sha256', this.#ivKey).update(aad).update(plaintext).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return {
      $personal: {
        v: 1,
        subject: this.subjectId,
        kid: this.keyId,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        data: data.toString('base64'),
      },
    };
  }

  /** The value sealed as field `path` of event `eventId`; throws when it does not open (another key, or moved). */
  open(sealed: SealedValue['$personal'], eventId: string, path: string): unknown {
    const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, Buffer.from(sealed.iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(this.additionalData(eventId, path));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    const plaintext = Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
    return JSON.parse(plaintext.toString('utf8')) as unknown;
  }

  // Parts joined by U+001F, which neither subject ids nor declared paths hold, ended by U+0000
  // (nor does this), so that the HMAC of the IV reads the plaintext after it unambiguously.
  private additionalData(eventId: string, path: string): Buffer {
    return Buffer.from(`event-store personal data v1\u001f${this.subjectId}\u001f${eventId}\u001f${path}\u0000`, 'utf8');
  }
}
