import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';

/** The query of `GET /leaderboard`. */
export class LeaderboardQueryDto {
  /** How many players, best first: 1 to 100. Default 10. */
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer from 1 to 100' })
  @Min(1, { message: 'limit must be an integer from 1 to 100' })
  @Max(100, { message: 'limit must be an integer from 1 to 100' })
  limit = 10;
}
