import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import type { AppendCondition } from '../types/append-result.js';
import { optionalUuid } from './event-data.validation.js';
import { optionalInteger } from './paging.validation.js';
import { assertName } from './stream-id.validation.js';

/**
 * Most tags one event may carry. A writer holds two tag locks per tag (and one for its type): 20
 * tags keep one event's 41 within the bound of one write's shared tag locks (64).
 */
export const MAX_TAGS_PER_EVENT = 20;
/**
 * Most streams one `appendToStreams` call may write or check. Each stream is an advisory lock held
 * to the end of the call, and PostgreSQL's lock table is shared by the whole cluster (64 entries
 * per connection by default): two calls of 10,000 streams ran it out.
 */
export const MAX_STREAMS_PER_APPEND = 100;

/** Most items one append condition may hold, and most types or tags per item. */
export const MAX_CONDITION_ITEMS = 16;

/**
 * An event's tags as stored: `null` when it has none; refuses a value that is not an array of at
 * most {@link MAX_TAGS_PER_EVENT} distinct names (1–200 characters, no control characters).
 */
export function optionalTags(value: unknown, name: string): string[] | null {
  if (value === undefined || value === null) {
    return null;
  }
  const tags = assertTagList(value, name, MAX_TAGS_PER_EVENT);
  return tags.length === 0 ? null : tags;
}

/** Refuses anything but a non-empty list of distinct tags, e.g. a read filter's `tags`. */
export function assertTags(value: unknown, name: string, max = MAX_TAGS_PER_EVENT): asserts value is string[] {
  if (assertTagList(value, name, max).length === 0) {
    throw new InvalidArgumentError(`${name} must hold at least one tag`, { [name]: value });
  }
}

function assertTagList(value: unknown, name: string, max: number): string[] {
  if (!Array.isArray(value) || value.length > max) {
    throw new InvalidArgumentError(`${name} must be an array of at most ${max} tags`, {
      [name]: Array.isArray(value) ? value.length : typeof value,
    });
  }
  const seen = new Set<string>();
  value.forEach((tag, index) => {
    assertName(tag, `${name}[${index}]`);
    if (seen.has(tag)) {
      throw new InvalidArgumentError(`${name}[${index}]: tag '${tag}' appears twice`, { [`${name}[${index}]`]: tag });
    }
    seen.add(tag);
  });
  return value as string[];
}

/** An append condition as the append function reads it. */
export interface ConditionRecord {
  items: Array<{ event_types: string[] | null; tags: string[] | null }>;
  after: number;
}

/**
 * Checks an append condition; `null` when there is none. Refuses an empty list of alternatives
 * and an item that names neither event types nor tags: it would match every event, and checking
 * it would lock out every other writer of the store.
 */
export function conditionRecord(condition: AppendCondition | null | undefined, name = 'condition'): ConditionRecord | null {
  if (condition === undefined || condition === null) {
    return null;
  }
  if (typeof condition !== 'object' || condition === null) {
    throw new InvalidArgumentError(`${name} must be { failIfEventsMatch: [...], after? }`, { [name]: condition });
  }
  const items = condition.failIfEventsMatch as unknown;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_CONDITION_ITEMS) {
    throw new InvalidArgumentError(`${name}.failIfEventsMatch must be an array of 1 to ${MAX_CONDITION_ITEMS} items`, {
      [`${name}.failIfEventsMatch`]: Array.isArray(items) ? items.length : typeof items,
    });
  }
  const after = optionalInteger(condition.after, `${name}.after`, 0) ?? 0;
  return { items: items.map((item, index) => conditionItem(item, `${name}.failIfEventsMatch[${index}]`)), after };
}

function conditionItem(item: unknown, at: string): ConditionRecord['items'][number] {
  const { eventTypes, tags } = (typeof item === 'object' && item !== null ? item : {}) as { eventTypes?: unknown; tags?: unknown };
  if (eventTypes === undefined && tags === undefined) {
    throw new InvalidArgumentError(`${at} names neither eventTypes nor tags, so it would match every event: name what must not exist`, {
      [at]: item ?? null,
    });
  }
  if (eventTypes !== undefined) {
    if (!Array.isArray(eventTypes) || eventTypes.length === 0 || eventTypes.length > MAX_CONDITION_ITEMS) {
      throw new InvalidArgumentError(`${at}.eventTypes must be an array of 1 to ${MAX_CONDITION_ITEMS} event types`, {
        [`${at}.eventTypes`]: eventTypes,
      });
    }
    eventTypes.forEach((type, index) => assertName(type, `${at}.eventTypes[${index}]`));
  }
  if (tags !== undefined) {
    assertTags(tags, `${at}.tags`);
  }
  return { event_types: (eventTypes as string[] | undefined) ?? null, tags: (tags as string[] | undefined) ?? null };
}

/** The ids of a link request, lower-cased: 1 to `max` distinct UUIDs. */
export function linkIds(eventIds: unknown, max: number): string[] {
  if (!Array.isArray(eventIds) || eventIds.length === 0 || eventIds.length > max) {
    throw new InvalidArgumentError(`eventIds must be an array of 1 to ${max} event ids`, {
      eventIds: Array.isArray(eventIds) ? eventIds.length : typeof eventIds,
    });
  }
  const ids = eventIds.map((id, index) => optionalUuid(id ?? '', `eventIds[${index}]`)!);
  const repeated = ids.findIndex((id, index) => ids.indexOf(id) !== index);
  if (repeated >= 0) {
    throw new InvalidArgumentError(`eventIds[${repeated}]: event ${ids[repeated]} appears twice`, {
      [`eventIds[${repeated}]`]: ids[repeated],
    });
  }
  return ids;
}
