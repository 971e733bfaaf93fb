/**
 * Puts the store's schema first on a transaction's search path, ahead of the path the server,
 * database or role set (usually `"$user", public`), until the transaction ends (`set_config(...,
 * true)` is `SET LOCAL`). So the tables a projection or a caller's transaction names without a
 * schema are the store's own, one set per store: two stores in two schemas of one database each
 * create, write and read their own `leaderboard_scores`, and tables found only further on the path
 * (the host's outbox in `public`) are still found. Names the store writes itself are qualified
 * anyway. `quotedSchema` is the store's quoted identifier; it becomes an SQL literal here, because
 * this runs with the `BEGIN`, where a statement takes no parameters.
 */
export const storeSearchPathSql = (quotedSchema: string): string =>
  `SELECT set_config('search_path', concat_ws(', ', '${quotedSchema.replace(/'/g, "''")}', nullif(current_setting('search_path'), '')), true)`;
