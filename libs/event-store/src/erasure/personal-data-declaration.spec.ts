import { resolvePersonalData } from './personal-data-declaration.js';

describe('resolvePersonalData', () => {
  it('resolves paths into their keys', () => {
    const resolved = resolvePersonalData({ ProfileUpdated: { subject: 'player.id', fields: ['contact.email', 'name'] } });
    expect(resolved.get('ProfileUpdated')).toEqual({
      eventType: 'ProfileUpdated',
      subject: { path: 'player.id', keys: ['player', 'id'] },
      fields: [
        { path: 'contact.email', keys: ['contact', 'email'] },
        { path: 'name', keys: ['name'] },
      ],
    });
    expect(resolvePersonalData(undefined).size).toBe(0);
  });

  it('lists every mistake in one message', () => {
    expect(() =>
      resolvePersonalData({
        A: { subject: '', fields: ['x'] },
        B: { subject: 'id', fields: [] },
        C: { subject: 'player.id', fields: ['player', 'a..b', 'p\u0001'] },
        D: { subject: 'id', fields: ['profile', 'profile.name', 'email', 'email'] },
      }),
    ).toThrow(
      "Event store option personalData['A']: subject must be a dotted path into the event's data, e.g. 'playerId'; personalData['B']: fields must be a non-empty array of dotted paths into the event's data, e.g. ['email']; personalData['C']: field \"a..b\" is not a dotted path; personalData['C']: field \"p\\u0001\" is not a dotted path; personalData['D']: fields 'profile' and 'profile.name' nest: declare the outer one alone; personalData['D']: field 'email' is given twice",
    );
    expect(() => resolvePersonalData([])).toThrow(/personalData must be an object/);
  });
});
