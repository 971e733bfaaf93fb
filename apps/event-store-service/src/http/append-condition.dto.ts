import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { AppendCondition, AppendConditionItem } from '@game-bot/event-store';

// The append condition, for the OpenAPI document only: the store checks it itself (so these
// classes carry no validation and the condition reaches the store as it came).

const CONDITION =
  "Write only if no event matching `failIfEventsMatch` is stored after the `$all` cursor `after`: the guard of an invariant that crosses streams (a word claimed once per guild, one daily answer per player). Otherwise nothing is written and the answer is `APPEND_CONDITION_FAILED` (409) with `details.conflictingPositions`, the global positions of the matching events (the first 100): read them, decide again, retry with a newer `after`. Race-free: of concurrent appends whose conditions match each other's events, exactly the right ones win.";
const ITEMS =
  'Alternatives: the condition fails if any item matches an event. 1 to 16 items; each names `eventTypes`, `tags` or both (an item with neither would match every event: `INVALID_ARGUMENT`, 400).';
const AFTER =
  "A `$all` cursor: only events after it count, typically the `nextFromPosition` (or an event's `globalPosition`) of the read the decision was made on. Default `0`: every event of the store.";

/** One alternative of an append condition. */
@ApiSchema({
  name: 'AppendConditionItem',
  description: 'Matches an event of any of `eventTypes` (default: any type) that carries every one of `tags` (default: none required).',
})
export class AppendConditionItemDto implements AppendConditionItem {
  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: 16,
    description: 'Any of these event types (1 to 16). Absent: any type.',
    example: ['WordClaimed'],
  })
  eventTypes?: string[];

  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: 32,
    description: 'All of these tags (1 to 32, distinct). Absent: no tag required.',
    example: ['guild:7', 'word:crane'],
  })
  tags?: string[];
}

/** `condition` of an append (`POST /streams/{streamId}/events`, `POST /append`, `POST /streams/{streamId}/links`). */
@ApiSchema({ name: 'AppendCondition', description: CONDITION })
export class AppendConditionDto implements AppendCondition {
  @ApiProperty({
    type: () => AppendConditionItemDto,
    isArray: true,
    minItems: 1,
    maxItems: 16,
    description: ITEMS,
    example: [{ eventTypes: ['WordClaimed'], tags: ['guild:7', 'word:crane'] }],
  })
  failIfEventsMatch!: AppendConditionItemDto[];

  @ApiPropertyOptional({ type: 'integer', minimum: 0, default: 0, description: AFTER, example: 1043 })
  after?: number;
}
