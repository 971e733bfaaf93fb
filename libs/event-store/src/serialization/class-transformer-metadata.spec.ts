import 'reflect-metadata';
import { Exclude, Expose, plainToInstance, Transform, Type } from 'class-transformer';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsClassTransformer, plainCopyToInstance, PlainPayload } from './class-transformer-metadata.js';

/** An instance as comparable data: its class, then its own fields in order; functions by kind, each instance has its own. */
function comparable(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const fields = Object.entries(value).map(([key, field]) => [key, typeof field === 'function' ? 'a function' : field]);
  return { type: value.constructor, fields };
}

it('the library imports class-transformer only through its public entry point', () => {
  // A deep import (class-transformer/cjs/...) is a second copy of the package once a bundler
  // resolves the application's import to the ESM build: its metadata never sees the decorators.
  // The metadata is read from the copy the public entry point resolves to, checked by a probe.
  const source = fileURLToPath(new URL('..', import.meta.url));
  const files = readdirSync(source, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const deep = files.filter((file) => /['"]class-transformer\//.test(readFileSync(join(source, file), 'utf8')));
  expect(deep).toEqual([]);
});

describe('needsClassTransformer', () => {
  it("reads class-transformer's own metadata: a bare class is plain, a decorated one or its subclass is not", () => {
    class Bare {
      name!: string;
    }
    class Dated {
      @Type(() => Date) at!: Date;
    }
    class Child extends Dated {
      name!: string;
    }
    class Excluding {
      @Exclude() secret!: string;
    }
    class Transformed {
      @Transform(({ value }) => String(value)) id!: string;
    }
    class Exposing {
      @Expose({ name: 'n' }) name!: string;
    }
    expect(needsClassTransformer(Bare)).toBe(false);
    for (const decorated of [Dated, Child, Excluding, Transformed, Exposing]) {
      expect(needsClassTransformer(decorated)).toBe(true);
    }
  });

  it('is false for a class declared @PlainPayload(), a declaration its subclasses do not inherit', () => {
    @PlainPayload()
    class Declared {
      @Type(() => Date) at!: Date;
    }
    class Extended extends Declared {}
    expect(needsClassTransformer(Declared)).toBe(false);
    expect(needsClassTransformer(Extended)).toBe(true);
  });
});

describe('plainCopyToInstance', () => {
  class Base {
    private secret = 'kept';
    get readOnlyInBase(): string {
      return this.secret;
    }
  }
  class Bare extends Base {
    name = 'default';
    hint: string | null = null;
    onChange = (): string => 'field function';
    stored?: string;
    describe(): string {
      return this.name;
    }
    get label(): string {
      return `label ${this.name}`;
    }
    get upper(): string | undefined {
      return this.stored;
    }
    set upper(value: string | undefined) {
      this.stored = value?.toUpperCase();
    }
  }
  const json = (text: string) => (): unknown => JSON.parse(text);
  const withHole = (): unknown => {
    const tags = ['a', 'b', 'c'];
    delete tags[1];
    return { tags };
  };

  it.each([
    [
      'fields, nested arrays and objects',
      json('{"name": "n", "hint": null, "n": 1.5, "ok": true, "tags": ["a", ["b"]], "board": {"c": [{}]}}'),
    ],
    ['keys naming the prototype', json('{"__proto__": {"x": 1}, "constructor": "x", "describe": "x", "label": "x", "toString": "x"}')],
    ['a key with a setter, a function the constructor set', json('{"upper": "shout", "onChange": "x"}')],
    ['an empty payload', json('{}')],
    ['an array with a hole', withHole],
  ])('gives what plainToInstance gives for a class without metadata: %s', (_, data) => {
    const copied = plainCopyToInstance(Bare, data());
    expect(copied).toBeInstanceOf(Bare);
    expect(comparable(copied)).toStrictEqual(comparable(plainToInstance(Bare, data())));
  });

  it('copies nested values rather than sharing them', () => {
    const data = { tags: ['a'], board: { rows: ['r'] } };
    const copied = plainCopyToInstance(Bare, data) as unknown as typeof data;
    expect(copied.tags).not.toBe(data.tags);
    expect(copied.board).not.toBe(data.board);
    expect(copied).toMatchObject(data);
  });

  it('fails like plainToInstance on a getter without setter of a parent class', () => {
    const data = { readOnlyInBase: 'x' };
    expect(() => plainToInstance(Bare, data)).toThrow(TypeError);
    expect(() => plainCopyToInstance(Bare, data)).toThrow(TypeError);
  });

  it.each([
    ['a date', { at: new Date(0) }],
    ['a class instance', { board: new Base() }],
    ['undefined', { hint: undefined }],
    ['a bigint', { pot: 1n }],
    ['a function', { fn: () => 1 }],
    ['a nested key naming Object.prototype', { board: { toString: 'x' } }],
    ['a nested constructor key', { board: { constructor: 'x' } }],
    ['an object without prototype', { board: Object.create(null) as object }],
  ])('leaves to plainToInstance a payload holding %s, without calling the constructor', (_, data) => {
    let constructed = 0;
    class Counted {
      constructor() {
        constructed++;
      }
    }
    expect(plainCopyToInstance(Counted, data)).toBeUndefined();
    expect(constructed).toBe(0);
  });

  it('leaves to plainToInstance what is not a plain object', () => {
    expect(plainCopyToInstance(Bare, null)).toBeUndefined();
    expect(plainCopyToInstance(Bare, [{ name: 'n' }])).toBeUndefined();
  });
});
