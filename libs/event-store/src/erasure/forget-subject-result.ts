/** What `EventStore.forgetSubject` did. */
export interface ForgetSubjectResult {
  subjectId: string;
  /** When the subject was forgotten: by this call, or by the first one if it was forgotten before. */
  forgottenAt: Date;
  /** `true` when the subject had been forgotten before this call (nothing changed). */
  alreadyForgotten: boolean;
}
