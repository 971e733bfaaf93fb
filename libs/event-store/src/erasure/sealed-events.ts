import type { RecordedEvent } from '../types/event-data.js';
import { SEALED_KEY } from './personal-envelope.js';

/** What the stored JSON text of a payload holding a sealed value contains (JSON.stringify writes keys so). */
const SEALED_MARK = `"${SEALED_KEY}"`;

/** Events read whose stored payload may hold sealed values: only they are searched and opened. */
const mayHoldSealed = new WeakSet<RecordedEvent>();

/**
 * Notes, as a row is mapped, whether its stored payload text may hold a sealed value: a text
 * search over what is in hand already, so that a store that never seals pays next to nothing on
 * reads (no walk of the payloads, no query for keys).
 */
export function noteSealedText(event: RecordedEvent, dataText: string): void {
  // A one-character search first: several times faster than the whole mark on payloads without a '$'.
  if (dataText.includes('$') && dataText.includes(SEALED_MARK)) {
    mayHoldSealed.add(event);
  }
}

/** Whether {@link noteSealedText} found the mark in this event's stored payload. */
export function mayBeSealed(event: RecordedEvent): boolean {
  return mayHoldSealed.has(event);
}
