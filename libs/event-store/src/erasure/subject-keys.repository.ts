import { Inject, Injectable } from '@nestjs/common';
import type { DatabaseSession } from '../storage/database-executor.js';
import { EventStoreDatabase } from '../storage/event-store-database.js';
import type { StoredSubjectKey } from './master-keys.js';
import { createSubjectKeysSql, forgetSubjectSql, subjectKeysSql, type ForgottenRow, type SubjectKeyRow } from './subject-keys.sql.js';

/** The `subject_keys` table: subject keys found, made on first use (race-safe), and destroyed. */
@Injectable()
export class SubjectKeysRepository {
  private readonly sql: { find: string; create: string; forget: string };

  constructor(@Inject(EventStoreDatabase) private readonly database: EventStoreDatabase) {
    const schema = database.schema;
    this.sql = { find: subjectKeysSql(schema), create: createSubjectKeysSql(schema), forget: forgetSubjectSql(schema) };
  }

  /** The rows of `subjectIds` (live keys and tombstones); subjects without a row are left out. One statement. */
  async find(subjectIds: string[]): Promise<SubjectKeyRow[]> {
    return this.database.executor.query<SubjectKeyRow>(
      { name: 'es_subject_keys', text: this.sql.find, values: [subjectIds] },
      { idempotent: true, readOnly: true },
    );
  }

  /**
   * The rows of `subjectIds`, a new key (from `make`) stored first for each that has none. Two
   * appends making the first key of one subject at once end with one key: the second's insert
   * waits for the first's and does nothing, and its next statement reads the winner. On `session`
   * (the caller's transaction, which then owns the new rows) or, without one, on a pooled
   * connection, retried as a whole (it is idempotent) until `deadline`.
   */
  async obtain(
    subjectIds: string[],
    make: (subjectId: string) => StoredSubjectKey,
    session?: DatabaseSession,
    deadline?: number,
  ): Promise<SubjectKeyRow[]> {
    const work = (on: DatabaseSession): Promise<SubjectKeyRow[]> => this.obtainOn(on, subjectIds, make);
    return session === undefined ? this.database.executor.run(work, { idempotent: true, deadline }) : work(session);
  }

  /** Destroys the key of `subjectId` (a tombstone stays); idempotent. */
  async forget(subjectId: string): Promise<ForgottenRow> {
    const [row] = await this.database.executor.query<ForgottenRow>(
      { name: 'es_forget_subject', text: this.sql.forget, values: [subjectId] },
      { idempotent: true },
    );
    return row!;
  }

  private async obtainOn(session: DatabaseSession, subjectIds: string[], make: (subjectId: string) => StoredSubjectKey) {
    const found = (await session.query<SubjectKeyRow>({ name: 'es_subject_keys', text: this.sql.find, values: [subjectIds] })).rows;
    const missing = without(subjectIds, found);
    if (missing.length === 0) {
      return found;
    }
    const made = missing.map(make);
    const { rows: created } = await session.query<SubjectKeyRow>({
      name: 'es_create_subject_keys',
      text: this.sql.create,
      values: [missing, made.map((stored) => stored.key), made.map((stored) => stored.masterKeyId)],
    });
    const raced = without(missing, created);
    if (raced.length === 0) {
      return [...found, ...created];
    }
    const { rows: winners } = await session.query<SubjectKeyRow>({ name: 'es_subject_keys', text: this.sql.find, values: [raced] });
    return [...found, ...created, ...winners];
  }
}

function without(subjectIds: string[], rows: SubjectKeyRow[]): string[] {
  const present = new Set(rows.map((row) => row.subject_id));
  return subjectIds.filter((subjectId) => !present.has(subjectId));
}
