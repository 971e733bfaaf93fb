import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';

/**
 * Stores a `bigint` property of a typed event as a decimal string and restores it as a `bigint`
 * on read: JSON numbers lose precision past 2^53 and JSON has no bigint.
 *
 * @example
 * @EventType('PotPaid') class PotPaid { @JsonBigInt() amount!: bigint; }
 */
export function JsonBigInt(): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (typeof value === 'bigint' ? value.toString() : value), {
      toPlainOnly: true,
    }),
    Transform(({ value }: { value: unknown }) => toBigInt(value), { toClassOnly: true }),
  );
}

/** A decimal string or an integral number as a bigint; anything else as it is (for validators to refuse). */
function toBigInt(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    return BigInt(value);
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    return BigInt(value);
  }
  return value;
}
