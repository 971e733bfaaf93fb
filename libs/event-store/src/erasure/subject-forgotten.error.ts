import { EventStoreErrorCode } from '../errors/event-store-error-code.js';
import { EventStoreError } from '../errors/event-store.error.js';

/**
 * An append holds personal data of a subject that was forgotten (`forgetSubject`): its key is
 * destroyed and is never made again, so that nothing re-stores what was erased (a retry, a replay
 * copying old data). Code `INVALID_ARGUMENT`; `details` name the subject and the event.
 */
export class SubjectForgottenError extends EventStoreError {
  readonly code = EventStoreErrorCode.InvalidArgument;

  constructor(subjectId: string, forgottenAt: Date, at: string) {
    super(
      `${at}: data subject '${subjectId}' was forgotten on ${forgottenAt.toISOString()}, so personal data of it can no longer be stored: leave its personal fields out, or give the person a new subject id`,
      { subjectId, forgottenAt: forgottenAt.toISOString(), at },
    );
  }
}
