import 'reflect-metadata';
import { DEFAULT_WORDS } from './bot-environment.js';
import { ConfigurationError, loadBotConfig } from './bot-config.js';

describe('loadBotConfig', () => {
  it('runs on the embedded PostgreSQL, in its own schema and data directory, by default', () => {
    const config = loadBotConfig({});
    expect(config).toMatchObject({
      http: { host: '127.0.0.1', port: 3100 },
      eventStore: { connection: undefined, schema: 'word_guess_bot', embedded: { dataDir: './data/word-guess-bot' } },
      game: { words: DEFAULT_WORDS, maxGuesses: 6, snapshotEvery: 10, commandRetries: 10 },
    });
    expect(config.logLevels).toEqual(['fatal', 'error', 'warn', 'log']);
  });

  it('uses the server, words and rules given', () => {
    const config = loadBotConfig({
      BOT_DB_HOST: 'db.internal',
      BOT_DB_PORT: '6432',
      BOT_DB_USER: 'bot',
      BOT_DB_PASS: 'secret',
      BOT_DB_NAME: 'games',
      BOT_WORDS: 'Crane, slate',
      BOT_MAX_GUESSES: '4',
      BOT_SNAPSHOT_EVERY: '50',
    });
    expect(config.eventStore.connection).toEqual({ host: 'db.internal', port: 6432, user: 'bot', password: 'secret', database: 'games' });
    expect(config.game).toMatchObject({ words: ['crane', 'slate'], maxGuesses: 4, snapshotEvery: 50 });
  });

  it.each([
    [{ BOT_PORT: '70000' }, 'BOT_PORT must be an integer from 1 to 65535'],
    [{ BOT_WORDS: 'crane,sl4te' }, 'BOT_WORDS must be comma-separated words of five letters a-z'],
    [{ BOT_DB_SCHEMA: 'Word-Guess' }, 'BOT_DB_SCHEMA must be a lower-case PostgreSQL name'],
    [{ BOT_MAX_GUESSES: '0' }, 'BOT_MAX_GUESSES must be an integer from 1 to 20'],
    [{ BOT_LOG_LEVEL: 'loud' }, 'BOT_LOG_LEVEL must be error, warn, log, debug or verbose'],
  ])('stops the boot with one line naming the variable: %j', (environment, message) => {
    expect(() => loadBotConfig(environment)).toThrow(ConfigurationError);
    expect(() => loadBotConfig(environment)).toThrow(message);
  });

  it('counts empty variables as unset', () => {
    expect(loadBotConfig({ BOT_PORT: '', BOT_DB_HOST: '' })).toMatchObject({ http: { port: 3100 }, eventStore: { connection: undefined } });
  });
});
