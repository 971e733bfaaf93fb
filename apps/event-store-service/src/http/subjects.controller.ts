import { Controller, Delete, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProperty, ApiSchema, ApiTags } from '@nestjs/swagger';
import { EventStore, type ForgetSubjectResult } from '@game-bot/event-store';
import { RequiresRole } from '../auth/requires-role.decorator.js';
import { ApiErrorResponse, ApiStoreErrorResponses } from './api-models.js';

const FORGET =
  'Erasure of a data subject\'s personal data (crypto-shredding, docs/erasure.md): destroys the key its personal fields are encrypted with. From then on every read (streams, `$all`, event streams, webhooks; on every instance) returns those fields as `{ "$erased": true }`; the events, their order, their other fields and their checksums stay. Appends holding personal data of the subject are refused afterwards (400 `INVALID_ARGUMENT`). Idempotent; cannot be undone. Needs the `admin` role.';

/** What `DELETE /subjects/{subjectId}` did (200). */
@ApiSchema({ name: 'ForgetSubjectResult', description: 'A forgotten data subject.' })
export class ForgetSubjectResultModel {
  @ApiProperty({ description: 'The data subject.', example: 'player-7' })
  subjectId!: string;

  @ApiProperty({ description: 'When it was forgotten: by this request, or by the first one.', example: '2026-12-01T09:30:00.000Z' })
  forgottenAt!: string;

  @ApiProperty({ description: '`true` when it had been forgotten before (nothing changed).', example: false })
  alreadyForgotten!: boolean;
}

/** Data subjects over HTTP: forgetting one. */
@ApiTags('subjects')
@ApiBearerAuth()
@ApiStoreErrorResponses()
@Controller('subjects')
export class SubjectsController {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** Forgets a data subject: 200 `{ subjectId, forgottenAt, alreadyForgotten }`. */
  @ApiOperation({ summary: 'Forget a data subject (erase its personal data)', description: FORGET })
  @ApiParam({
    name: 'subjectId',
    description: 'The id of the data subject, as its events hold it: 1 to 200 characters, no control characters. URL-encode it.',
    example: 'player-7',
  })
  @ApiOkResponse({ type: ForgetSubjectResultModel, description: 'The subject is forgotten (also the answer when it was already).' })
  @ApiErrorResponse(400, 'Bad subject id.', 'INVALID_ARGUMENT')
  @ApiErrorResponse(403, 'The token has the `read` or `write` role: this route needs `admin`.', 'FORBIDDEN')
  @RequiresRole('admin')
  @Delete(':subjectId')
  async forget(@Param('subjectId') subjectId: string): Promise<object> {
    return view(await this.store.forgetSubject(subjectId));
  }
}

function view(result: ForgetSubjectResult): Record<string, unknown> {
  return { subjectId: result.subjectId, forgottenAt: result.forgottenAt.toISOString(), alreadyForgotten: result.alreadyForgotten };
}
