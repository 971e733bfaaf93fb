/** A row of `subject_keys`: a live key (`key` set), or the tombstone of a forgotten subject. */
export interface SubjectKeyRow {
  subject_id: string;
  /** `null` once the subject is forgotten. */
  key: Buffer | null;
  master_key_id: string | null;
  forgotten_at: Date | null;
}

/** The row of a forgotten subject after `forgetSubject`. */
export interface ForgottenRow {
  forgotten_at: Date;
  /** Whether it had been forgotten before this call. */
  already: boolean;
}

/** The keys (and tombstones) of the subjects `$1` (text[]). */
export const subjectKeysSql = (schema: string): string => `
  SELECT subject_id, key, master_key_id, forgotten_at FROM ${schema}.subject_keys WHERE subject_id = ANY($1::text[])`;

/**
 * Stores new keys for subjects that have none (`$1` ids, `$2` keys, `$3` master key ids), in id
 * order so that two appends creating keys for the same subjects wait for each other in one order.
 * A subject that got a row meanwhile keeps it (`DO NOTHING`): the caller reads that row next, in a
 * statement of its own, whose snapshot sees the winner's commit.
 */
export const createSubjectKeysSql = (schema: string): string => `
  INSERT INTO ${schema}.subject_keys (subject_id, key, master_key_id)
  SELECT subject_id, key, master_key_id FROM unnest($1::text[], $2::bytea[], $3::text[]) AS given (subject_id, key, master_key_id)
  ORDER BY subject_id
  ON CONFLICT (subject_id) DO NOTHING
  RETURNING subject_id, key, master_key_id, forgotten_at`;

/**
 * Forgets subject `$1`: its key is overwritten with NULL, and a subject without a row gets a
 * tombstone, so that no later append makes it a new key. Forgetting again keeps the first date.
 */
export const forgetSubjectSql = (schema: string): string => `
  INSERT INTO ${schema}.subject_keys AS k (subject_id, key, master_key_id, forgotten_at)
  VALUES ($1, NULL, NULL, now())
  ON CONFLICT (subject_id) DO UPDATE SET key = NULL, master_key_id = NULL, forgotten_at = coalesce(k.forgotten_at, now())
  RETURNING forgotten_at, forgotten_at < now() AS already`;
