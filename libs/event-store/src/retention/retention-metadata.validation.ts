import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { JsonObject } from '../types/event-data.js';

/**
 * The stream metadata keys of retention (docs/retention.md), each an integer >= 1 when present:
 * `$maxAge` (seconds), `$maxCount` (events), `$truncateBefore` (a version; 1 hides nothing).
 */
export const RETENTION_METADATA_KEYS = {
  $maxAge: 'seconds: events older than this are hidden',
  $maxCount: 'events: only the last this many versions are kept',
  $truncateBefore: 'a version: versions below it are hidden',
} as const;

/**
 * Refuses stream metadata whose retention keys are not integers >= 1 (`INVALID_ARGUMENT` naming the
 * key); a key left out, or `undefined`, sets no limit. Other keys are the caller's own.
 */
export function assertRetentionMetadata(metadata: JsonObject): void {
  for (const [key, meaning] of Object.entries(RETENTION_METADATA_KEYS)) {
    const value: unknown = metadata[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
      throw new InvalidArgumentError(
        `metadata.${key} must be an integer >= 1 (${meaning}), got ${JSON.stringify(value)}: leave the key out for no limit`,
        { [`metadata.${key}`]: value },
      );
    }
  }
}
