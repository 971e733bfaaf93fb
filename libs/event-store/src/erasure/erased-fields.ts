/**
 * Whether the value at dotted `path` of a payload (or any value on the way to it) is an erased
 * personal field. Reads of events upcast from an older version validate them again, and an erased
 * field (`{ "$erased": true }`, turned into an instance of the field's class when it has one) cannot
 * pass the field's rules: such failures are not the payload's fault.
 */
export function isErasedAt(payload: object, path: string): boolean {
  let value: unknown = payload;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) {
      return false;
    }
    value = (value as Record<string, unknown>)[key];
    if (typeof value === 'object' && value !== null && (value as { $erased?: unknown }).$erased === true) {
      return true;
    }
  }
  return false;
}
