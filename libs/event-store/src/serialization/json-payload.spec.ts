import { InvalidArgumentError } from '../errors/invalid-argument.error.js';
import { assertJsonDepth, assertJsonPayload, assertTransformableInstance, MAX_JSON_DEPTH } from './json-payload.js';

/** `levels` objects (or arrays) nested in one another, built without recursion: `{ a: { a: {} } }` is 3. */
function nested(levels: number, kind: 'object' | 'array' = 'object'): unknown {
  let value: unknown = kind === 'object' ? {} : [];
  for (let level = 1; level < levels; level++) {
    value = kind === 'object' ? { a: value } : [value];
  }
  return value;
}

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

  describe('nesting', () => {
    it('documents a limit of 64 levels', () => {
      expect(MAX_JSON_DEPTH).toBe(64);
    });

    it.each(['object', 'array'] as const)('accepts %s nesting up to the limit and refuses one level more, naming where', (kind) => {
      expect(() => assertJsonPayload(nested(64, kind), 'data')).not.toThrow();
      const attempt = (): void => assertJsonPayload(nested(65, kind), 'data');
      expect(attempt).toThrow(InvalidArgumentError);
      const where = kind === 'object' ? `data${'.a'.repeat(64)}` : `data${'[0]'.repeat(64)}`;
      expect(attempt).toThrow(`${where} is nested more than 64 levels deep`);
    });

    it.each([3_000, 10_000, 200_000])('refuses %i levels with InvalidArgumentError, not a stack overflow', (levels) => {
      let refusal: unknown;
      try {
        assertJsonPayload({ ok: 1, deep: nested(levels) }, 'events[0].data');
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(InvalidArgumentError);
      expect((refusal as InvalidArgumentError).details).toEqual({ path: `events[0].data.deep${'.a'.repeat(63)}`, maxDepth: 64 });
    });

    it('still names a cycle a cycle, and checks every branch', () => {
      const node: Record<string, unknown> = {};
      node.child = { list: [1, node] };
      expect(() => assertJsonPayload(node, 'data')).toThrow(/data\.child\.list\[1\] .* cycle/);
      expect(() => assertJsonPayload({ a: [{}, { b: 1 }], c: { d: [2, { e: Number.NaN }] } }, 'data')).toThrow(/data\.c\.d\[1\]\.e .* NaN/);
    });

    it('shortens a long path in the refusal', () => {
      const key = 'k'.repeat(1_000);
      let value: unknown = {};
      for (let level = 0; level < 70; level++) value = { [key]: value };
      const attempt = (): void => assertJsonPayload(value, 'data');
      expect(attempt).toThrow(/^data\.k+…k+ is nested more than 64 levels deep/);
      expect(() => attempt()).toThrow(expect.objectContaining({ details: expect.objectContaining({ maxDepth: 64 }) }) as Error);
    });
  });
});

describe('assertJsonDepth', () => {
  it('checks nesting only, against the limit given, naming arrays by index', () => {
    expect(() => assertJsonDepth({ list: [{ f: () => 1 }] }, 'body')).not.toThrow();
    expect(() => assertJsonDepth({ list: [{ a: {} }] }, 'body', 3)).toThrow('body.list[0].a is nested more than 3 levels deep');
    expect(() => assertJsonDepth(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 'body')).toThrow(InvalidArgumentError);
  });
});

describe('assertTransformableInstance', () => {
  class Node {
    constructor(public next?: Node) {}
  }

  it('refuses an instance nested past the limit before class-transformer recurses into it', () => {
    let deep = new Node();
    for (let level = 1; level < 10_000; level++) deep = new Node(deep);
    expect(() => assertTransformableInstance(deep, 'events[0].data')).toThrow(InvalidArgumentError);
    expect(() => assertTransformableInstance(deep, 'events[0].data')).toThrow(/^events\[0\]\.data\.next.* is nested more than 64 levels/);
  });

  it('refuses cycles, maps and functions, and accepts dates and bigints', () => {
    const loop = new Node();
    loop.next = new Node(loop);
    expect(() => assertTransformableInstance(loop, 'data')).toThrow(/data\.next\.next .* cycle/);
    expect(() => assertTransformableInstance({ m: new Map() }, 'data')).toThrow(/data\.m .* Map/);
    expect(() => assertTransformableInstance({ list: [() => 1] }, 'data')).toThrow(/data\.list\[0\] .* function/);
    expect(() => assertTransformableInstance({ when: new Date(), n: 1n }, 'data')).not.toThrow();
  });
});
