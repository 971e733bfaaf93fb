import { Injectable } from '@nestjs/common';
import {
  Projection,
  type ProjectionHandler,
  type ProjectionTables,
  type RecordedEvent,
  type StoreTransaction,
} from '@game-bot/event-store';
import { GameWon } from '../game/events/game-won.event.js';
import { GuessMade } from '../game/events/guess-made.event.js';

/** What one event adds to a player's row. */
interface ScoreChange {
  points?: number;
  wins?: number;
  guesses?: number;
}

/**
 * Points, wins and guesses per player, from every game's events. Each batch of events is applied
 * in one transaction with the projection's checkpoint: an event counts exactly once, also across
 * crashes and restarts.
 */
@Projection('leaderboard', { filter: { eventTypes: ['GuessMade', 'GameWon'], streamPrefix: 'game-' } })
@Injectable()
export class LeaderboardProjection implements ProjectionHandler {
  // A bare name: the store creates, writes and reads it in its own schema (BOT_DB_SCHEMA).
  readonly tables = { scores: 'leaderboard_scores' };

  async createTables(tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
    await tx.query(`CREATE TABLE ${tables.scores} (
      player text PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      wins integer NOT NULL DEFAULT 0,
      guesses integer NOT NULL DEFAULT 0
    )`);
    // Unnamed, so that a rebuild's fresh table gets an index of its own name.
    await tx.query(`CREATE INDEX ON ${tables.scores} (points DESC, wins DESC, player)`);
  }

  async handle(event: RecordedEvent, tx: StoreTransaction, tables: ProjectionTables): Promise<void> {
    const { data } = event;
    if (data instanceof GuessMade) {
      await this.add(tx, tables.scores, data.player, { guesses: 1 });
    } else if (data instanceof GameWon) {
      await this.add(tx, tables.scores, data.player, { points: data.points, wins: 1 });
    }
  }

  private async add(tx: StoreTransaction, table: string, player: string, add: ScoreChange): Promise<void> {
    await tx.query(
      `INSERT INTO ${table} AS s (player, points, wins, guesses) VALUES ($1, $2, $3, $4)
       ON CONFLICT (player) DO UPDATE SET points = s.points + EXCLUDED.points, wins = s.wins + EXCLUDED.wins,
         guesses = s.guesses + EXCLUDED.guesses`,
      [player, add.points ?? 0, add.wins ?? 0, add.guesses ?? 0],
    );
  }
}
