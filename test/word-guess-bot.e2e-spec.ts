/**
 * The example app (apps/word-guess-bot) as its players use it: over HTTP, on the test server, in a
 * schema of its own. Games are the aggregate (a decider), the leaderboard a projection, and an old
 * version-1 guess reads through the upcaster. docs/tutorial.md quotes this file (see
 * test/tutorial.e2e-spec.ts).
 */
import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import request from 'supertest';
import { EventStore } from '@game-bot/event-store';
import { createBotApp } from '../apps/word-guess-bot/src/bot-app.js';
import { loadBotConfig } from '../apps/word-guess-bot/src/configuration/bot-config.js';
import { GuessMade } from '../apps/word-guess-bot/src/game/events/guess-made.event.js';
import { eventually } from './helpers/eventually.js';
import { testConnection } from './helpers/test-database.js';
import { uniqueSchema } from './helpers/test-store.js';

/** The bot's variables for the test server and `schema`; every game's word is `crane`. */
function botEnvironment(schema: string): Record<string, string> {
  const { host, port, user, password, database } = testConnection();
  return {
    BOT_DB_HOST: host,
    BOT_DB_PORT: String(port),
    BOT_DB_USER: user!,
    BOT_DB_PASS: password!,
    BOT_DB_NAME: database!,
    BOT_DB_SCHEMA: schema,
    BOT_WORDS: 'crane',
    BOT_MAX_GUESSES: '12',
    BOT_SNAPSHOT_EVERY: '4',
  };
}

const WRONG = ['slate', 'pious', 'blimp', 'quirk', 'frost', 'nymph', 'glade', 'torch'];

interface GameBody {
  id: string;
  status: string;
  version: number;
  guesses: Array<{ player: string; guess: string; feedback: string }>;
  winner: string | null;
  word: string | null;
}

describe('the word-guess bot (apps/word-guess-bot)', () => {
  const schema = uniqueSchema('bot');
  let app: NestFastifyApplication;
  let http: ReturnType<NestFastifyApplication['getHttpServer']>;

  beforeAll(async () => {
    app = await createBotApp(loadBotConfig(botEnvironment(schema)), { logger: ['error'] });
    await app.getHttpAdapter().getInstance().ready();
    http = app.getHttpServer();
  });

  afterAll(async () => {
    await app.close();
    const sql = new pg.Pool({ ...testConnection(), max: 1 });
    await sql.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  });

  const startGame = async (): Promise<GameBody> => {
    const started = await request(http).post('/games');
    expect(started.status).toBe(201);
    return started.body as GameBody;
  };
  const guess = (id: string, player: string, word: string) => request(http).post(`/games/${id}/guesses`).send({ player, guess: word });

  it('starts a game, takes a wrong guess and the right one, and shows the game', async () => {
    const game = await startGame();
    expect(game).toMatchObject({ status: 'playing', version: 1, guesses: [], word: null });

    const wrong = await guess(game.id, 'ana', 'slate');
    expect(wrong.status).toBe(201);
    expect(wrong.body).toMatchObject({ status: 'playing', version: 2, guesses: [{ player: 'ana', guess: 'slate', feedback: '..G.G' }] });

    const right = await guess(game.id, 'bo', 'CRANE');
    expect(right.body).toMatchObject({ status: 'won', winner: 'bo', word: 'crane', version: 4 });

    const shown = await request(http).get(`/games/${game.id}`);
    expect(shown.body).toEqual(right.body);
    const late = await guess(game.id, 'cy', 'slate');
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'GAME_OVER' });
  });

  it('refuses what is not a game or not a guess, in the store’s error body', async () => {
    const missing = await request(http).get('/games/7d4ed3a4-9d45-4d0c-8a8c-4c5b0f6b1f00');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ statusCode: 404, code: 'GAME_NOT_FOUND', message: expect.any(String), details: {} });
    const { id } = await startGame();
    const bad = await guess(id, 'ana', 'toolong');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_ARGUMENT', details: { fields: [{ property: 'guess' }] } });
    expect((await request(http).get('/games/not-a-uuid')).status).toBe(400);
    expect((await guess(id, '', 'crane')).status).toBe(400);
    const limit = await request(http).get('/leaderboard?limit=0');
    expect(limit.body).toMatchObject({ statusCode: 400, code: 'INVALID_ARGUMENT', message: 'limit must be an integer from 1 to 100' });
  });

  it('updates the leaderboard projection, eventually', async () => {
    const { id } = await startGame();
    await guess(id, 'dee', 'pious');
    await guess(id, 'eve', 'crane');

    // 12 guesses allowed, found at the 2nd: 11 points.
    const eve = { player: 'eve', points: 11, wins: 1, guesses: 1 };
    await eventually(async () => {
      const { body } = await request(http).get('/leaderboard');
      return body.players.some((row: typeof eve) => row.player === 'eve' && row.wins === 1);
    });
    const { body } = await request(http).get('/leaderboard');
    expect(body.players).toContainEqual(eve);
    expect(body.players).toContainEqual({ player: 'dee', points: 0, wins: 0, guesses: 1 });
    expect(body.projection).toMatchObject({ status: 'running' });
    // Its bare table name is the bot's schema's table, nowhere else.
    const sql = new pg.Pool({ ...testConnection(), max: 1 });
    const { rows } = await sql.query(
      "SELECT schemaname FROM pg_tables WHERE tablename = 'leaderboard_scores' AND schemaname IN ($1, 'public')",
      [schema],
    );
    await sql.end();
    expect(rows).toEqual([{ schemaname: schema }]);
  });

  it('reads a guess stored at version 1 through the upcaster', async () => {
    const { id } = await startGame();
    const store = app.get(EventStore);
    // What the bot's first season stored: { user, word }, schema version 1.
    await store.appendToStream(`game-${id}`, 1, [{ eventType: 'GuessMade', schemaVersion: 1, data: { user: 'old-timer', word: 'slate' } }]);

    const shown = await request(http).get(`/games/${id}`);
    expect(shown.body.guesses).toEqual([{ player: 'old-timer', guess: 'slate', feedback: '..G.G' }]);
    const [, stored] = await store.readStreamForward(`game-${id}`);
    expect(stored).toMatchObject({ schemaVersion: 1, data: { player: 'old-timer', guess: 'slate' } });
    expect(stored!.data).toBeInstanceOf(GuessMade);
  });

  it('counts an upcast guess in the leaderboard too, and takes new guesses after it', async () => {
    const { id } = await startGame();
    await app
      .get(EventStore)
      .appendToStream(`game-${id}`, 1, [{ eventType: 'GuessMade', schemaVersion: 1, data: { user: 'first-season', word: 'frost' } }]);
    const next = await guess(id, 'first-season', 'crane');
    expect(next.body).toMatchObject({ status: 'won', version: 4, guesses: [{ guess: 'frost' }, { guess: 'crane' }] });
    await eventually(async () => {
      const { body } = await request(http).get('/leaderboard');
      const row = body.players.find((entry: { player: string }) => entry.player === 'first-season');
      return row?.guesses === 2 && row.points === 11;
    });
  });

  it('records every one of concurrent guesses on one game: the aggregate decides again after a conflict', async () => {
    const { id } = await startGame();
    const answers = await Promise.all(WRONG.map((word, i) => guess(id, `player-${i}`, word)));

    expect(answers.map((answer) => answer.status)).toEqual(WRONG.map(() => 201));
    // Each guess appended at a version of its own: 2 (after GameStarted) to 9.
    expect(answers.map((answer) => answer.body.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    const shown = (await request(http).get(`/games/${id}`)).body as GameBody;
    expect(shown.guesses.map((g) => g.guess).sort()).toEqual([...WRONG].sort());
  });

  it('refuses, never loses, the guesses that come after a concurrent win', async () => {
    const { id } = await startGame();
    const words = ['slate', 'pious', 'crane', 'blimp', 'quirk', 'frost'];
    const answers = await Promise.all(words.map((word, i) => guess(id, `racer-${i}`, word)));

    const shown = (await request(http).get(`/games/${id}`)).body as GameBody;
    expect(shown).toMatchObject({ status: 'won', winner: 'racer-2' });
    expect(shown.guesses.at(-1)).toMatchObject({ guess: 'crane' });
    // Every guess is either in the game, before the win, or was answered 409 GAME_OVER.
    const recorded = new Set(shown.guesses.map((g) => g.player));
    answers.forEach((answer, i) => {
      if (recorded.has(`racer-${i}`)) expect(answer.status).toBe(201);
      else expect(answer.body).toMatchObject({ statusCode: 409, code: 'GAME_OVER' });
    });
    expect(recorded.size).toBe(shown.guesses.length);
  });

  it('loads a game from its snapshot and the events after it, as it was folded from scratch', async () => {
    const { id } = await startGame();
    for (const [i, word] of WRONG.slice(0, 5).entries()) await guess(id, `p${i}`, word);
    const store = app.get(EventStore);
    // BOT_SNAPSHOT_EVERY=4: recorded once 4 events came after the last one, at version 4 of 6.
    const snapshot = await store.readSnapshot(`game-${id}`);
    expect(snapshot).toMatchObject({ sourceVersion: 4, metadata: { snapshotVersion: 1 } });

    const shown = (await request(http).get(`/games/${id}`)).body as GameBody;
    expect(shown).toMatchObject({ version: 6, guesses: WRONG.slice(0, 5).map((word, i) => ({ player: `p${i}`, guess: word })) });
  });
});
