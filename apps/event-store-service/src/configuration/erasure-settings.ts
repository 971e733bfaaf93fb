import type { EventStoreModuleOptions } from '@game-bot/event-store';
import { parseMasterKey, resolvePersonalData } from '@game-bot/event-store/internal';

const MASTER_KEY = 'EVENT_STORE_MASTER_KEY';
const PREVIOUS_KEYS = 'EVENT_STORE_PREVIOUS_MASTER_KEYS';
const PERSONAL_DATA = 'EVENT_STORE_PERSONAL_DATA';

/** The erasure variables as given (unset ones `undefined`). */
export interface ErasureVariables {
  EVENT_STORE_MASTER_KEY?: string;
  EVENT_STORE_PREVIOUS_MASTER_KEYS?: string;
  EVENT_STORE_PERSONAL_DATA?: string;
}

/**
 * The store's erasure options from `EVENT_STORE_MASTER_KEY` (wraps subject keys),
 * `EVENT_STORE_PREVIOUS_MASTER_KEYS` (comma-separated, only unwrap) and `EVENT_STORE_PERSONAL_DATA`
 * (the `personalData` option as JSON: personal fields of plain events appended over HTTP). Throws
 * one line naming the variable and never repeating a key.
 *
 * @example
 * erasureSettings({ EVENT_STORE_PERSONAL_DATA: '{"PlayerRegistered":{"subject":"playerId","fields":["email"]}}' });
 */
export function erasureSettings(variables: ErasureVariables): Pick<EventStoreModuleOptions, 'personalData' | 'erasure'> {
  const previous = (variables.EVENT_STORE_PREVIOUS_MASTER_KEYS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => parseMasterKey(entry, `${PREVIOUS_KEYS} entry ${index + 1}`));
  const current = variables.EVENT_STORE_MASTER_KEY;
  if (current === undefined && previous.length > 0) {
    throw new Error(
      `${PREVIOUS_KEYS} is set but ${MASTER_KEY} is not: previous keys only unwrap; set ${MASTER_KEY} to the key to wrap with`,
    );
  }
  return {
    personalData: personalData(variables.EVENT_STORE_PERSONAL_DATA),
    erasure: current === undefined ? undefined : { masterKey: parseMasterKey(current, MASTER_KEY), previousMasterKeys: previous },
  };
}

function personalData(text: string | undefined): EventStoreModuleOptions['personalData'] {
  if (text === undefined) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${PERSONAL_DATA} must be JSON: {"EventType":{"subject":"path.of.id","fields":["path.of.field"]}}`);
  }
  try {
    resolvePersonalData(parsed);
  } catch (error) {
    throw new Error(`${PERSONAL_DATA}: ${(error as Error).message.replace(/^Event store option /, '')}`, { cause: error });
  }
  return parsed as EventStoreModuleOptions['personalData'];
}
