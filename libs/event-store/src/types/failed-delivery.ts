/** A delivery that failed past its in-line retries. */
export interface FailedDelivery {
  subscription: string;
  eventId: string;
  globalPosition: number;
  streamId: string;
  streamVersion: number;
  /** Deliveries tried so far, in-line retries counted as one. */
  attempts: number;
  lastError: string;
  /** `failed`: the retry worker will try again at `nextAttemptAt`; `dead`: given up, until replayed. */
  status: 'failed' | 'dead';
  nextAttemptAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
