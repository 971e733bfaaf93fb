import { Module } from '@nestjs/common';
import { LeaderboardController } from './leaderboard.controller.js';
import { LeaderboardProjection } from './leaderboard.projection.js';
import { LeaderboardService } from './leaderboard.service.js';

/** The leaderboard: the projection that writes it (started by the store at boot), and its reader. */
@Module({
  controllers: [LeaderboardController],
  providers: [LeaderboardProjection, LeaderboardService],
})
export class LeaderboardModule {}
