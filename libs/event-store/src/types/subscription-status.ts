import type { AllFilter } from './read-options.js';

/** Where a persistent subscription stands, across every process (`store.listSubscriptions()`). */
export interface SubscriptionStatus {
  name: string;
  /** `$all`, or the stream it reads. */
  streamId: string;
  filter: AllFilter;
  /**
   * For a partition of a subscription group (its name is `<group>:<index>`): the group, this
   * partition's index and the group's partition count; `null` for a plain subscription.
   */
  group: { name: string; partition: number; partitions: number } | null;
  /** The `$all` cursor (a global position), or the stream version, of the last event handled; 0 before any. */
  checkpoint: number;
  /** Where what it reads ends now: the position of the last event `$all` readers see, or the stream's version. */
  head: number;
  /**
   * Events it has yet to handle: for `$all`, the events of its filter that `$all` shows after the
   * checkpoint (a count of events, not a distance of positions; counted up to 1,000,000); for a
   * stream, its versions after the checkpoint.
   */
  lag: number;
  /** Who holds its lease while it is valid: a process (`host:pid:tag`), or a group member's id. */
  owner: string | null;
  /** When the lease runs out, or ran out; `null` once handed back. */
  leaseUntil: Date | null;
  /** Failed deliveries waiting for a retry. */
  failed: number;
  /** Dead-lettered deliveries, kept until replayed. */
  dead: number;
  updatedAt: Date;
}
