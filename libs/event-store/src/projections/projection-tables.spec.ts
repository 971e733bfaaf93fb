import { checkTables, generationTables, sameTables, splitTableName } from './projection-tables.js';

describe('projection tables', () => {
  it('takes plain and schema-qualified lower-case names', () => {
    expect(checkTables('p', { scores: 'leaderboard_scores', games: 'app.games' })).toEqual({
      scores: 'leaderboard_scores',
      games: 'app.games',
    });
    expect(splitTableName('app.games')).toEqual({ schema: 'app', table: 'games' });
    expect(splitTableName('games')).toEqual({ schema: undefined, table: 'games' });
  });

  it.each([
    [undefined],
    [{}],
    [{ scores: 'Scores' }],
    [{ scores: 'a.b.c' }],
    [{ scores: 'scores; DROP TABLE x' }],
    [{ scores: '"quoted"' }],
    [{ scores: 'x'.repeat(51) }],
    [{ a: 'same', b: 'same' }],
    [{ scores: 42 }],
  ])('refuses %j with INVALID_ARGUMENT', (tables) => {
    expect(() => checkTables('p', tables)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it("names a rebuild's generation beside the real tables, keeping their schema", () => {
    expect(generationTables({ scores: 'app.scores', games: 'games' }, 3)).toEqual({ scores: 'app.scores__r3', games: 'games__r3' });
  });

  it('compares table maps by logical name and table', () => {
    expect(sameTables({ a: 'x', b: 'y' }, { b: 'y', a: 'x' })).toBe(true);
    expect(sameTables({ a: 'x' }, { a: 'x', b: 'y' })).toBe(false);
    expect(sameTables({ a: 'x', b: 'y' }, { a: 'y', b: 'x' })).toBe(false);
  });
});
