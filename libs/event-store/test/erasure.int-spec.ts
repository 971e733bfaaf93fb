import 'reflect-metadata';
import { jest } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { IsEmail, IsInt, IsOptional, IsString } from 'class-validator';
import pg from 'pg';
import { DataSource } from 'typeorm';
import {
  DataSubject,
  EventStoreModule,
  EventType,
  EventTypeRegistrationError,
  InvalidArgumentError,
  PersonalData,
  SubjectForgottenError,
  SubjectKeyUnavailableError,
  type EventStoreModuleOptions,
  type RecordedEvent,
} from '@game-bot/event-store';
import { eventStoreMigrations, PersonalDataVault } from '@game-bot/event-store/internal';
import { collectEvents, waitUntilCaughtUp } from '@game-bot/event-store/testing';
import { storedChecksumSql } from '../src/storage/sql/checksum.sql.js';
import { testConnection } from '../../../test/helpers/test-database.js';
import { createTestStore, uniqueSchema, type TestStore } from '../../../test/helpers/test-store.js';

@EventType('PlayerRegistered')
class PlayerRegistered {
  @DataSubject() @IsString() playerId!: string;
  @PersonalData() @IsEmail() email!: string;
  @PersonalData() @IsOptional() @IsString() nickname?: string;
  @IsString() region!: string;
}

/** Version 2 added `score`; version 1 payloads are upcast, and validated again, on read. */
@EventType('EmailChanged', { version: 2, upcasters: { 1: (data) => ({ ...data, score: 0 }) } })
class EmailChanged {
  @DataSubject() @IsString() playerId!: string;
  @PersonalData() @IsEmail() email!: string;
  @IsInt() score!: number;
}

/** Plain events declare their personal data by paths. */
const PERSONAL_DATA: EventStoreModuleOptions['personalData'] = {
  ProfileUpdated: { subject: 'player.id', fields: ['contact.email', 'displayName'] },
};

const registered = (playerId: string, email: string, nickname?: string): PlayerRegistered =>
  Object.assign(new PlayerRegistered(), { playerId, email, region: 'eu', ...(nickname === undefined ? {} : { nickname }) });
const profileUpdated = (playerId: string, email: string, displayName: string) => ({
  eventType: 'ProfileUpdated',
  data: { player: { id: playerId, level: 3 }, contact: { email, preferred: 'email' }, displayName, theme: 'dark' },
});

const ERASED = { $erased: true };
const PLAINTEXT = [
  'alice@example.com',
  'ally',
  'alice.work@example.com',
  'Alice Liddell',
  'alice.tx@example.com',
  'alice.multi@example.com',
];

describe('erasure of personal data (crypto-shredding) on real PostgreSQL', () => {
  let t: TestStore;
  let tenant: TestStore;
  const open = (options: EventStoreModuleOptions = {}, label = 'erasure'): Promise<TestStore> =>
    createTestStore({ personalData: PERSONAL_DATA, ...options }, label, [EventStoreModule.forFeature([PlayerRegistered, EmailChanged])]);
  const rawRows = async (store: TestStore) =>
    (
      await store.sql.query<Record<string, unknown>>(
        `SELECT global_position, stream_id, stream_version, event_id, event_type, schema_version, data::text AS data,
                metadata::text AS metadata, created_at, encode(checksum, 'hex') AS checksum
           FROM "${store.schema}".events ORDER BY global_position`,
      )
    ).rows;
  const keyRows = async (store: TestStore, subjectId: string) =>
    (
      await store.sql.query<{ key: Buffer | null; master_key_id: string | null; forgotten_at: Date | null }>(
        `SELECT key, master_key_id, forgotten_at FROM "${store.schema}".subject_keys WHERE subject_id = $1`,
        [subjectId],
      )
    ).rows;
  const exported = async (store: TestStore): Promise<string[]> => {
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    await store.allVisible();
    await store.store.exportEvents(sink);
    return Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
  };
  const ofSubject = (events: ReadonlyArray<RecordedEvent>, subjectId: string) =>
    events.filter((event) => JSON.stringify(event.data).includes(`"${subjectId}"`));

  beforeAll(async () => {
    t = await open();
    tenant = await open({}, 'erasure-tenant');
  });
  afterAll(async () => {
    await tenant.close();
    await t.close();
  });

  it('seals class-declared and path-declared personal fields on every write path; stored rows hold no plaintext', async () => {
    const plain = profileUpdated('p-1', 'alice.work@example.com', 'Alice Liddell');
    await t.store.appendToStream('player-p1', 'no_stream', [registered('p-1', 'alice@example.com', 'ally'), plain]);
    await t.store.appendToStreams([
      { streamId: 'guild-7', expectedVersion: 'no_stream', events: [profileUpdated('p-1', 'alice.multi@example.com', 'Alice Liddell')] },
      {
        streamId: 'player-p2',
        expectedVersion: 'no_stream',
        events: [registered('p-2', 'bob@example.com'), profileUpdated('p-2', 'bob.work@example.com', 'Bob')],
      },
    ]);
    await t.store.transaction(async (tx) => {
      await tx.appendToStream('player-p1', 2, [
        { eventType: 'EmailChanged', schemaVersion: 1, data: { playerId: 'p-1', email: 'alice.tx@example.com' } },
      ]);
    });
    await tenant.store.appendToStream('player-p1', 'no_stream', [registered('p-1', 'alice@example.com', 'ally')]);

    const [first, second, third] = await t.store.readStreamForward('player-p1');
    expect(first!.data).toBeInstanceOf(PlayerRegistered);
    expect(first!.data).toEqual(registered('p-1', 'alice@example.com', 'ally'));
    expect(second!.data).toEqual(plain.data);
    expect(third!.data).toEqual({ playerId: 'p-1', email: 'alice.tx@example.com', score: 0 });
    expect((await t.store.readStreamForward('guild-7'))[0]!.data).toMatchObject({ contact: { email: 'alice.multi@example.com' } });
    expect(plain.data.contact.email).toBe('alice.work@example.com'); // the caller's object is left alone

    const rows = await rawRows(t);
    expect(rows).toHaveLength(6);
    const text = rows.map((row) => row.data as string).join('\n');
    for (const secret of [...PLAINTEXT, 'bob@example.com', 'bob.work@example.com', '"Bob"']) expect(text).not.toContain(secret);
    expect(text).toContain('"region":"eu"');
    expect(text).toContain('"theme":"dark"');
    const stored = JSON.parse(rows[0]!.data as string) as { email: { $personal: Record<string, unknown> }; playerId: string };
    expect(stored.playerId).toBe('p-1');
    expect(Object.keys(stored.email.$personal).sort()).toEqual(['data', 'iv', 'kid', 'subject', 'tag', 'v']);
    expect(stored.email.$personal).toMatchObject({ v: 1, subject: 'p-1' });
    const [key] = await keyRows(t, 'p-1');
    expect(key).toMatchObject({ master_key_id: null, forgotten_at: null });
    expect(key!.key).toHaveLength(32);
  });

  it('after forgetSubject, the subject reads as erased in stream reads, $all and subscriptions; rows, export and the rest stay byte for byte', async () => {
    const rowsBefore = await rawRows(t);
    const exportBefore = await exported(t);
    const p2Before = JSON.stringify(await t.store.readStreamForward('player-p2'));
    await t.allVisible();
    const allBefore = (await t.store.readAllForward()).events;
    const live = collectEvents(t.store, '$all', { startFrom: await t.store.endOf('$all') });
    await waitUntilCaughtUp(live.subscription);

    // An append that read the key before the forget, committed after it, is stored: it reads as erased.
    let release!: () => void;
    let appended!: () => void;
    const heldOpen = new Promise<void>((resolve) => (release = resolve));
    const inTransaction = new Promise<void>((resolve) => (appended = resolve));
    const transaction = t.store.transaction(async (tx) => {
      await tx.appendToStream('player-p1', 3, [registered('p-1', 'alice.live@example.com')]);
      appended();
      await heldOpen;
    });
    await inTransaction;
    const forgotten = await t.store.forgetSubject('p-1');
    release();
    await transaction;
    expect(forgotten).toMatchObject({ subjectId: 'p-1', alreadyForgotten: false });
    expect(await t.store.forgetSubject('p-1')).toEqual({ ...forgotten, alreadyForgotten: true });

    const [liveEvent] = await live.waitFor(1);
    await live.stop();
    expect(liveEvent!.data).toEqual({ playerId: 'p-1', email: ERASED, region: 'eu' });

    const [first, second, third] = await t.store.readStreamForward('player-p1');
    expect(first!.data).toBeInstanceOf(PlayerRegistered);
    expect(first!.data).toEqual({ playerId: 'p-1', email: ERASED, nickname: ERASED, region: 'eu' });
    expect(second!.data).toEqual({
      player: { id: 'p-1', level: 3 },
      contact: { email: ERASED, preferred: 'email' },
      displayName: ERASED,
      theme: 'dark',
    });
    // Upcast from version 1 and validated again: the erased email is not a validation failure.
    expect(third!.data).toEqual({ playerId: 'p-1', email: ERASED, score: 0 });

    await t.allVisible();
    const allAfter = (await t.store.readAllForward()).events;
    expect(JSON.stringify(allAfter.slice(0, allBefore.length).map((event) => event.eventId))).toBe(
      JSON.stringify(allBefore.map((event) => event.eventId)),
    );
    const allText = JSON.stringify(allAfter);
    for (const secret of [...PLAINTEXT, 'alice.live@example.com']) expect(allText).not.toContain(secret);
    expect(JSON.stringify(ofSubject(allAfter, 'p-2'))).toBe(JSON.stringify(ofSubject(allBefore, 'p-2')));
    expect(JSON.stringify(await t.store.readStreamForward('player-p2'))).toBe(p2Before);
    expect(JSON.stringify(ofSubject(allAfter, 'p-2'))).toContain('bob@example.com');

    const caughtUp: RecordedEvent[] = [];
    const catchUp = t.store.subscribeToAll('erasure-catch-up', (event) => void caughtUp.push(event));
    await waitUntilCaughtUp(catchUp);
    await catchUp.unsubscribe();
    expect(caughtUp.map((event) => event.eventId)).toEqual(allAfter.map((event) => event.eventId));
    expect(JSON.stringify(ofSubject(caughtUp, 'p-1'))).not.toMatch(/alice/);
    expect(
      ofSubject(caughtUp, 'p-1').map(
        (event) =>
          (event.data as { email?: unknown; contact?: { email: unknown } }).email ??
          (event.data as { contact: { email: unknown } }).contact.email,
      ),
    ).toEqual(Array(5).fill(ERASED));
    expect(JSON.stringify(ofSubject(caughtUp, 'p-2'))).toBe(JSON.stringify(ofSubject(allBefore, 'p-2')));

    // An export is of stored rows: it never held the plaintext, and holds the same lines after the forget.
    const exportAfter = await exported(t);
    expect(exportAfter.slice(0, exportBefore.length)).toEqual(exportBefore);
    expect(exportBefore.join('\n')).toContain('"$personal"');
    for (const secret of [...PLAINTEXT, 'alice.live@example.com', 'bob@example.com']) expect(exportAfter.join('\n')).not.toContain(secret);

    // The stored bytes never changed: the same rows, checksums still matching.
    const rowsAfter = await rawRows(t);
    expect(rowsAfter.slice(0, rowsBefore.length)).toEqual(rowsBefore);
    const { rows: mismatched } = await t.sql.query(
      `SELECT event_id FROM "${t.schema}".events e WHERE e.checksum <> ${storedChecksumSql('e')}`,
    );
    expect(mismatched).toEqual([]);
    expect(await keyRows(t, 'p-1')).toEqual([{ key: null, master_key_id: null, forgotten_at: forgotten.forgottenAt }]);
    expect((await keyRows(t, 'p-2'))[0]!.key).toHaveLength(32);
  });

  it('refuses personal data of a forgotten subject, and takes its events without personal fields', async () => {
    const refused = t.store.appendToStream('player-p1', 'any', [registered('p-1', 'alice.again@example.com')]);
    await expect(refused).rejects.toThrow(SubjectForgottenError);
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { subjectId: 'p-1', at: 'events[0]' } });
    await expect(
      t.store.transaction((tx) =>
        tx.appendToStreams([{ streamId: 'guild-7', expectedVersion: 'any', events: [profileUpdated('p-1', 'a@b.c', 'A')] }]),
      ),
    ).rejects.toThrow(
      /streams\[0\]\.events\[0\]: data subject 'p-1' was forgotten on .*: leave its personal fields out, or give the person a new subject id/,
    );
    await t.store.appendToStream('player-p1', 'any', [{ eventType: 'ProfileUpdated', data: { player: { id: 'p-1' }, theme: 'light' } }]);
    expect((await t.store.readStreamBackward('player-p1', { maxCount: 1 }))[0]!.data).toEqual({ player: { id: 'p-1' }, theme: 'light' });
    expect(await keyRows(t, 'p-1')).toHaveLength(1);
  });

  it("leaves another tenant's (schema's) subject of the same id untouched", async () => {
    const [event] = await tenant.store.readStreamForward('player-p1');
    expect(event!.data).toEqual(registered('p-1', 'alice@example.com', 'ally'));
    expect((await keyRows(tenant, 'p-1'))[0]).toMatchObject({ forgotten_at: null });
  });

  it('makes one key for a new subject however many appends race to make it', async () => {
    for (let round = 0; round < 5; round++) {
      const subjectId = `racer-${round}`;
      await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          n % 3 === 2
            ? t.store.transaction((tx) =>
                tx.appendToStream(`race-${round}-${n}`, 'no_stream', [registered(subjectId, `r${n}@example.com`)]),
              )
            : t.store.appendToStream(`race-${round}-${n}`, 'no_stream', [registered(subjectId, `r${n}@example.com`)]),
        ),
      );
      expect(await keyRows(t, subjectId)).toHaveLength(1);
      for (let n = 0; n < 12; n++) {
        expect((await t.store.readStreamForward(`race-${round}-${n}`))[0]!.data).toMatchObject({ email: `r${n}@example.com` });
      }
    }
  });

  it('re-sending an append with personal data is idempotent: the seal of a value is the same each time', async () => {
    const event = {
      eventId: randomUUID(),
      eventType: 'PlayerRegistered',
      data: { playerId: 'p-3', email: 'carol@example.com', region: 'us' },
    };
    const first = await t.store.appendToStream('player-p3', 'no_stream', [event]);
    expect(await t.store.appendToStream('player-p3', 'no_stream', [event])).toEqual(first);
    expect(await t.store.readStreamForward('player-p3')).toHaveLength(1);
  });

  it('fetches keys once per page read, and only for a page holding sealed values', async () => {
    const keys = (t.app.get(PersonalDataVault) as unknown as { keys: { find: (ids: string[]) => Promise<unknown[]> } }).keys;
    const find = jest.spyOn(keys, 'find');
    try {
      await t.store.appendToStream('plain-only', 'no_stream', [{ eventType: 'Other', data: { price: '$5' } }]);
      await t.store.readStreamForward('plain-only');
      expect(find).not.toHaveBeenCalled();
      await t.store.appendToStream('sealed-page', 'no_stream', [
        registered('p-4', 'dan@example.com'),
        registered('p-5', 'eve@example.com'),
      ]);
      const page = await t.store.readStreamForward<PlayerRegistered>('sealed-page');
      expect(page.map((event) => event.data.email)).toEqual(['dan@example.com', 'eve@example.com']);
      expect(find).toHaveBeenCalledTimes(1);
      expect(find.mock.calls[0]![0]!.sort()).toEqual(['p-4', 'p-5']);
    } finally {
      find.mockRestore();
    }
  });

  it('reads a value sealed under a key the store no longer has as erased, not as corrupted', async () => {
    // As after an import of events without their subject keys: the subject then gets a new key.
    await t.store.appendToStream('player-copied', 'no_stream', [registered('p-copied', 'frank@example.com')]);
    await t.sql.query(`DELETE FROM "${t.schema}".subject_keys WHERE subject_id = 'p-copied'`);
    expect((await t.store.readStreamForward('player-copied'))[0]!.data).toMatchObject({ email: ERASED, region: 'eu' });
    await t.store.appendToStream('player-copied', 1, [registered('p-copied', 'frank.new@example.com')]);
    const [old, fresh] = await t.store.readStreamForward('player-copied');
    expect(old!.data).toMatchObject({ email: ERASED });
    expect(fresh!.data).toMatchObject({ email: 'frank.new@example.com' });
  });

  it('refuses malformed payloads: a missing subject, a path through a non-object, a payload holding the reserved key', async () => {
    await expect(
      t.store.appendToStream('bad', 'any', [{ eventType: 'ProfileUpdated', data: { contact: { email: 'x@y.z' } } }]),
    ).rejects.toThrow(
      /events\[0\]\.data\.player\.id must hold the id of the data subject .*'ProfileUpdated' stores contact\.email encrypted/,
    );
    await expect(
      t.store.appendToStream('bad', 'any', [{ eventType: 'ProfileUpdated', data: { player: { id: 'p-9' }, contact: ['x@y.z'] } }]),
    ).rejects.toThrow(/events\[0\]\.data\.contact must be an object: it is on the path of personal field 'contact\.email'/);
    await expect(t.store.appendToStream('bad', 'any', [{ eventType: 'Other', data: { note: { $personal: { v: 1 } } } }])).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(t.store.forgetSubject('')).rejects.toThrow(/subjectId must be a string of 1 to 200 characters/);
  });

  it('checks declarations at boot with clear errors', async () => {
    await expect(open({ personalData: { X: { subject: 'a', fields: [] } } })).rejects.toThrow(
      /personalData\['X'\]: fields must be a non-empty array/,
    );
    await expect(open({ personalData: { X: { subject: 'player.id', fields: ['player', 'email', 'email'] } } })).rejects.toThrow(
      /field 'player' holds the subject 'player\.id'.*field 'email' is given twice/,
    );
    await expect(open({ personalData: { PlayerRegistered: { subject: 'playerId', fields: ['email'] } } })).rejects.toThrow(
      /Personal data of 'PlayerRegistered' is declared twice/,
    );
    @EventType('NoSubject')
    class NoSubject {
      @PersonalData() @IsString() email!: string;
    }
    await expect(createTestStore({}, 'erasure-bad', [EventStoreModule.forFeature([NoSubject])])).rejects.toThrow(
      EventTypeRegistrationError,
    );
    await expect(createTestStore({}, 'erasure-bad', [EventStoreModule.forFeature([NoSubject])])).rejects.toThrow(
      /NoSubject has @PersonalData\(\) properties \(email\) but no @DataSubject\(\) property/,
    );
    await expect(open({ erasure: { masterKey: 'too-short' } })).rejects.toThrow(/erasure\.masterKey must be 32 bytes/);
  });

  it('wraps subject keys with the master key; another master key fails clearly; a previous one still unwraps', async () => {
    const [keyA, keyB] = [randomBytes(32).toString('base64'), randomBytes(32).toString('hex')];
    const schema = uniqueSchema('erasure-master');
    const wrapped = await open({ schema, erasure: { masterKey: keyA } });
    const others: TestStore[] = [];
    try {
      await wrapped.store.appendToStream('player-m', 'no_stream', [registered('p-m', 'mallory@example.com')]);
      const [row] = await keyRows(wrapped, 'p-m');
      expect(row!.key).toHaveLength(12 + 16 + 32);
      expect(row!.master_key_id).toMatch(/^[A-Za-z0-9_-]{8}$/);
      expect((await wrapped.store.readStreamForward('player-m'))[0]!.data).toMatchObject({ email: 'mallory@example.com' });

      const wrong = await open({ schema, erasure: { masterKey: keyB } });
      others.push(wrong);
      const read = wrong.store.readStreamForward('player-m');
      await expect(read).rejects.toThrow(SubjectKeyUnavailableError);
      await expect(read).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await expect(read).rejects.toThrow(
        new RegExp(
          `The key of data subject 'p-m' cannot be used: it is wrapped by master key ${row!.master_key_id}, which is neither the configured master key`,
        ),
      );
      await expect(wrong.store.appendToStream('player-m', 'any', [registered('p-m', 'm2@example.com')])).rejects.toThrow(
        SubjectKeyUnavailableError,
      );
      const none = await open({ schema });
      others.push(none);
      await expect(none.store.readAllForward()).rejects.toThrow(/neither the configured master key \(none is configured\)/);

      const rotated = await open({ schema, erasure: { masterKey: keyB, previousMasterKeys: [keyA] } });
      others.push(rotated);
      expect((await rotated.store.readStreamForward('player-m'))[0]!.data).toMatchObject({ email: 'mallory@example.com' });
      await rotated.store.appendToStream('player-n', 'no_stream', [registered('p-n', 'nina@example.com')]);
      expect((await keyRows(rotated, 'p-n'))[0]!.master_key_id).not.toBe(row!.master_key_id);
      expect((await wrong.store.readStreamForward('player-n'))[0]!.data).toMatchObject({ email: 'nina@example.com' });
    } finally {
      for (const other of others) await other.app.close().then(() => other.sql.end());
      await wrapped.close();
    }
  });

  it('the subject_keys migration goes up and down on an empty schema', async () => {
    const schema = uniqueSchema('erasure-migration');
    const connection = testConnection();
    const sql = new pg.Pool({ ...connection, max: 1 });
    const dataSource = new DataSource({
      type: 'postgres',
      host: connection.host,
      port: connection.port,
      username: connection.user,
      password: connection.password,
      database: connection.database,
      schema,
    });
    await dataSource.initialize();
    const runner = dataSource.createQueryRunner();
    try {
      await sql.query(`CREATE SCHEMA "${schema}"`);
      const Migration = eventStoreMigrations.find((migration) => migration.name === 'CreateSubjectKeys1796515200000')!;
      const tables = async () =>
        (await sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1`, [schema])).rows.map(
          (r: { tablename: string }) => r.tablename,
        );
      await new Migration().up(runner);
      expect(await tables()).toEqual(['subject_keys']);
      await expect(sql.query(`INSERT INTO "${schema}".subject_keys (subject_id, key) VALUES ('x', NULL)`)).rejects.toThrow(
        /subject_keys_key_or_tombstone/,
      );
      await sql.query(`INSERT INTO "${schema}".subject_keys (subject_id, forgotten_at) VALUES ('x', now())`);
      await new Migration().down(runner);
      expect(await tables()).toEqual([]);
    } finally {
      await runner.release();
      await dataSource.destroy();
      await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await sql.end();
    }
  });
});
