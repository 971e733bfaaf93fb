/**
 * A caller's transaction appended to streams after a transaction with a larger id committed there:
 * committed, its events would come before that one's in `$all` although their versions are later.
 * Thrown before the commit (the transaction is rolled back) and handled by the transaction runner,
 * which runs the work again with those streams locked first. Internal: callers never see it.
 */
export class AllOrderConflict extends Error {
  constructor(readonly streamIds: readonly string[]) {
    super(`An append of the transaction would come before a later-committed event of ${streamIds.join(', ')} in $all`);
    this.name = AllOrderConflict.name;
  }
}

/**
 * What the caller's work threw that did not come from a statement: carried through the database
 * executor unclassified (its retry policy only reads database failures) and rethrown as it was.
 */
export class WorkFailure extends Error {
  constructor(readonly failure: unknown) {
    super('The work of a store transaction failed');
    this.name = WorkFailure.name;
  }
}
