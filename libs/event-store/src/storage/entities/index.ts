import { EventEntity } from './event.entity.js';
import { HardDeletedPositionEntity } from './hard-deleted-position.entity.js';
import { SnapshotEntity } from './snapshot.entity.js';
import { StreamEntity } from './stream.entity.js';

/** The store's TypeORM entities, for its own data source. */
export const eventStoreEntities = [StreamEntity, EventEntity, HardDeletedPositionEntity, SnapshotEntity];
