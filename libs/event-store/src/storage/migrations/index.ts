import { CreateEventStore1764230400000 } from './1764230400000-create-event-store.js';
import { CreateSubscriptions1764316800000 } from './1764316800000-create-subscriptions.js';
import { LockStreamBeforeAppend1796083200000 } from './1796083200000-lock-stream-before-append.js';
import { StreamsLinksTags1796256000000 } from './1796256000000-streams-links-tags.js';
import { CreateProjections1796342400000 } from './1796342400000-create-projections.js';
import { CreateSubjectKeys1796515200000 } from './1796515200000-create-subject-keys.js';
import { ProjectionRebuildRequests1796774400000 } from './1796774400000-projection-rebuild-requests.js';

/** Every migration of the store's own tables, oldest first. */
export const eventStoreMigrations = [
  CreateEventStore1764230400000,
  CreateSubscriptions1764316800000,
  LockStreamBeforeAppend1796083200000,
  StreamsLinksTags1796256000000,
  CreateProjections1796342400000,
  CreateSubjectKeys1796515200000,
  ProjectionRebuildRequests1796774400000,
];
