import { Controller, Get, Inject, Query } from '@nestjs/common';
import { LeaderboardQueryDto } from './leaderboard-query.dto.js';
import { LeaderboardService, type LeaderboardView } from './leaderboard.service.js';

/** The leaderboard over HTTP. It is eventually consistent: a win shows once the projection has applied it. */
@Controller('leaderboard')
export class LeaderboardController {
  constructor(@Inject(LeaderboardService) private readonly leaderboard: LeaderboardService) {}

  @Get()
  top(@Query() query: LeaderboardQueryDto): Promise<LeaderboardView> {
    return this.leaderboard.top(query.limit);
  }
}
