import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { assertJsonPayload } from './json-payload.js';

describe('assertJsonPayload', () => {
  it('accepts what JSON represents exactly: unicode, nesting, arrays, safe integers, dates, null', () => {
    expect(() =>
      assertJsonPayload(
        {
          text: 'Ünïcødé ✓ 🎲 日本語 "quoted" \\ back\nslash',
          nested: { deeper: { list: [1, 'two', { three: 3 }, [], {}] } },
          big: Number.MAX_SAFE_INTEGER,
          huge: '123456789012345678901234567890',
          when: new Date('2026-11-27T08:00:00Z'),
          nothing: null,
          flag: false,
          bare: Object.create(null),
        },
        'data',
      ),
    ).not.toThrow();
  });

  it.each([
    ['undefined', { a: undefined }, /data\.a cannot be stored as JSON: undefined has no JSON form/],
    ['a function', { f: () => 1 }, /data\.f .* function has no JSON form/],
    ['a symbol', { s: Symbol('x') }, /symbol has no JSON form/],
    ['a bigint', { n: 10n }, /bigint has no JSON form: store it as a string/],
    ['NaN', { n: Number.NaN }, /NaN is not a JSON number/],
    ['Infinity', { list: [1, Infinity] }, /data\.list\[1\] .* Infinity is not a JSON number/],
    ['a Map', { m: new Map([['a', 1]]) }, /a Map object would lose its type/],
    [
      'a class instance',
      {
        c: new (class Point {
          x = 1;
        })(),
      },
      /a Point object would lose its type/,
    ],
    ['an invalid date', { d: new Date('nope') }, /invalid Date/],
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is tested
    ['a hole in an array', { list: [1, , 3] }, /data\.list\[1\] .* hole/],
    ['a NUL character', { text: 'a\u0000b' }, /data\.text .* U\+0000/],
    ['a NUL character in a key', { 'a\u0000': 1 }, /U\+0000/],
  ])('refuses %s, naming the path', (_, payload, message) => {
    const attempt = (): void => assertJsonPayload(payload, 'data');
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(message);
  });

  it('refuses a cycle', () => {
    const node: Record<string, unknown> = { name: 'loop' };
    node.self = { back: node };
    expect(() => assertJsonPayload(node, 'data')).toThrow(/data\.self\.back .* cycle/);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(() => assertJsonPayload({ a: shared, b: shared }, 'data')).not.toThrow();
  });
});
