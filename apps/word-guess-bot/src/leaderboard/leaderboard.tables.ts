import type { ProjectionTables } from '@game-bot/event-store';

/**
 * The leaderboard's table, in the store's schema: unqualified names would land in the database's
 * default schema (`public`), beside every other tenant's.
 */
export function leaderboardTables(schema: string): ProjectionTables {
  return { scores: `${schema}.leaderboard_scores` };
}
