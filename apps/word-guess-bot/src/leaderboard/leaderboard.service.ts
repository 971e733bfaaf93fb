import { Inject, Injectable } from '@nestjs/common';
import { EventStore, type ProjectionStatus } from '@game-bot/event-store';

/** One row of the leaderboard. */
export interface LeaderboardEntry {
  player: string;
  points: number;
  wins: number;
  guesses: number;
}

/** The leaderboard as read from the projection's table, and how far behind the events it is. */
export interface LeaderboardView {
  players: LeaderboardEntry[];
  projection: Pick<ProjectionStatus, 'status' | 'checkpoint' | 'lag'>;
}

/** PostgreSQL's code for a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

/** Reads the leaderboard's read model (written by `LeaderboardProjection`). */
@Injectable()
export class LeaderboardService {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** The best `limit` players, most points first. */
  async top(limit: number): Promise<LeaderboardView> {
    const [players, { status, checkpoint, lag }] = await Promise.all([this.players(limit), this.store.projectionStatus('leaderboard')]);
    return { players, projection: { status, checkpoint, lag } };
  }

  private async players(limit: number): Promise<LeaderboardEntry[]> {
    try {
      // The store's transactions find the projection's table by its bare name, in the store's schema.
      return await this.store.transaction(async (tx) => {
        const { rows } = await tx.query<{ player: string; points: number; wins: number; guesses: number }>(
          `SELECT player, points, wins, guesses FROM leaderboard_scores ORDER BY points DESC, wins DESC, player LIMIT $1`,
          [limit],
        );
        return rows;
      });
    } catch (error) {
      // Before the projection first ran (a moment after the first boot), there is no table yet.
      if ((error as { code?: string }).code === UNDEFINED_TABLE) return [];
      throw error;
    }
  }
}
