/** $1 stream id, $2 expected version code, $3 the events as a JSON array. */
export const appendToStreamSql = (s: string): string =>
  `SELECT from_version, to_version, first_position, last_position FROM ${s}.append_to_stream($1, $2, $3)`;

/** The row `append_to_stream` returns. */
export interface AppendRow {
  from_version: string;
  to_version: string;
  first_position: string;
  last_position: string;
}
