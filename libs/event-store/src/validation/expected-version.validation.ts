import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { ExpectedVersion } from '../types/expected-version.js';

/** How `append_to_stream` encodes an expected version: -1 any, -2 stream_exists, n >= 0 exactly n. */
export function expectedVersionCode(expected: unknown, name = 'expectedVersion'): number {
  switch (expected) {
    case ExpectedVersion.Any:
      return -1;
    case ExpectedVersion.StreamExists:
      return -2;
    case ExpectedVersion.NoStream:
      return 0;
  }
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) {
    return expected;
  }
  throw new InvalidArgumentError(
    `${name} must be 'any', 'no_stream', 'stream_exists' or an integer >= 0, got ${JSON.stringify(expected)}`,
    { [name]: expected },
  );
}
