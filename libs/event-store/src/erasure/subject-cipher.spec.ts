import { randomBytes } from 'node:crypto';
import { MasterKeys, parseMasterKey } from './master-keys.js';
import { SubjectCipher } from './subject-cipher.js';
import { SubjectKeyUnavailableError } from './subject-key-unavailable.error.js';

describe('SubjectCipher', () => {
  const key = randomBytes(32);
  const cipher = new SubjectCipher('player-7', key);
  const eventId = '0b1f8a5e-6c9d-4f3a-9b2e-7d4c5a6b8e90';

  it('opens what it sealed, for any JSON value, and seals one value of one field of one event to the same bytes', () => {
    for (const value of ['ann@example.com', { name: 'Ann', tags: [1, 2] }, null, 42]) {
      const sealed = cipher.seal(value, eventId, 'profile.email');
      expect(cipher.open(sealed.$personal, eventId, 'profile.email')).toEqual(value);
      expect(cipher.seal(value, eventId, 'profile.email')).toEqual(sealed);
      expect(JSON.stringify(sealed)).not.toContain('Ann');
    }
    expect(cipher.seal('a', eventId, 'email').$personal.iv).not.toBe(cipher.seal('b', eventId, 'email').$personal.iv);
  });

  it('does not open a sealed value moved to another event, field or subject, or opened with another key', () => {
    const { $personal: sealed } = cipher.seal('ann@example.com', eventId, 'email');
    expect(() => cipher.open(sealed, 'c6f1d3a2-0000-4000-8000-000000000000', 'email')).toThrow();
    expect(() => cipher.open(sealed, eventId, 'nickname')).toThrow();
    expect(() => new SubjectCipher('player-8', key).open(sealed, eventId, 'email')).toThrow();
    const other = new SubjectCipher('player-7', randomBytes(32));
    expect(other.keyId).not.toBe(cipher.keyId);
    expect(() => other.open(sealed, eventId, 'email')).toThrow();
  });
});

describe('MasterKeys', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('wraps subject keys for their subject only, and unwraps them with the current or a previous key', () => {
    const subjectKey = randomBytes(32);
    const stored = MasterKeys.from({ masterKey: a }).wrap('player-7', subjectKey);
    expect(stored.key).toHaveLength(60);
    expect(MasterKeys.from({ masterKey: a.toString('hex') }).unwrap('player-7', stored)).toEqual(subjectKey);
    expect(MasterKeys.from({ masterKey: b, previousMasterKeys: [a.toString('base64')] }).unwrap('player-7', stored)).toEqual(subjectKey);
    expect(() => MasterKeys.from({ masterKey: a }).unwrap('player-8', stored)).toThrow(/does not unwrap with master key/);
    expect(() => MasterKeys.from({ masterKey: b }).unwrap('player-7', stored)).toThrow(SubjectKeyUnavailableError);
    expect(MasterKeys.from().wrap('player-7', subjectKey)).toEqual({ key: subjectKey, masterKeyId: null });
  });

  it('refuses malformed keys, naming the option and never the value', () => {
    expect(() => parseMasterKey('secret-but-short', 'EVENT_STORE_MASTER_KEY')).toThrow(/^EVENT_STORE_MASTER_KEY must be 32 bytes/);
    expect(() => parseMasterKey('secret-but-short', 'X')).not.toThrow(/secret/);
    expect(() => MasterKeys.from({ previousMasterKeys: [a] })).toThrow(/previousMasterKeys is set but erasure.masterKey is not/);
    expect(() => MasterKeys.from({ masterKey: randomBytes(16) })).toThrow(/erasure.masterKey must be 32 bytes/);
  });
});
