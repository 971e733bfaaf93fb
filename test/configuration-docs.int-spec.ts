import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { environmentReads, type EnvironmentRead } from './helpers/environment-reads.js';
import { readDoc, sections, tableRows } from './helpers/markdown-doc.js';

/** The system's variables the tests and the bench pass on to their child processes: named in the doc's text, not in its tables. */
const SYSTEM_VARIABLES = new Set(['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']);
/** Readers whose variables are configuration of a deployed program, so `.env.example` has them too. */
const PROGRAMS = new Set(['service', 'CLI', 'bot']);
const OPTIONS_FILE = 'libs/event-store/src/configuration/event-store-options.interface.ts';

interface DocumentedVariable {
  name: string;
  defaultValue: string;
  readBy: Set<string>;
}

const doc = readDoc('configuration.md');
const reads = environmentReads('.');
const readNames = new Set(reads.map((read) => read.name));
const documented = documentedVariables(doc);
const envExample = envExampleVariables(readFileSync('.env.example', 'utf8'));

/** docs/configuration.md and .env.example against every read of the environment in the source. */
describe('docs/configuration.md', () => {
  it('finds the reads of every form the code uses (the scan itself)', () => {
    const at = (name: string, file: string): boolean => reads.some((read) => read.name === name && read.file === file);
    expect(at('EVENT_STORE_RETRY_ATTEMPTS', 'apps/event-store-service/src/configuration/environment-variables.ts')).toBe(true); // validated class
    expect(at('EVENT_STORE_SSL', 'libs/event-store/src/cli/cli-environment.ts')).toBe(true); // value('X') accessor
    expect(at('EVENT_STORE_TEST_DB', 'libs/event-store/src/testing/test-database.ts')).toBe(true); // environment.X on a NodeJS.ProcessEnv
    expect(at('BENCH_ONLY', 'test/bench/bench.ts')).toBe(true); // process.env.X
    expect(at('TZ', 'test/bench/service-process.ts')).toBe(true); // const { X } = process.env
    expect(reads.some((read) => read.name === 'NODE_OPTIONS')).toBe(false); // `delete env.NODE_OPTIONS` is no read
  });

  it('finds no read in the library outside its command line and its test entry (the library never reads the environment)', () => {
    expect(reads.filter((read) => read.reader === 'library').map(where)).toEqual([]);
  });

  it('lists every variable the code reads', () => {
    const missing = unique(reads.filter((read) => !documented.has(read.name) && !SYSTEM_VARIABLES.has(read.name)).map(where));
    expect(missing).toEqual([]);
  });

  it('lists only variables the code reads, in docs/configuration.md and in .env.example', () => {
    expect([...documented.keys()].filter((name) => !readNames.has(name))).toEqual([]);
    expect([...envExample.keys()].filter((name) => !readNames.has(name)).map((name) => `${name} (.env.example)`)).toEqual([]);
  });

  it('has every variable of the service, the command line and the bot in .env.example', () => {
    const missing = unique(reads.filter((read) => PROGRAMS.has(read.reader) && !envExample.has(read.name)).map(where));
    expect(missing).toEqual([]);
  });

  it('names the programs that read each variable', () => {
    const wrong = [...documented.values()].flatMap((variable) => {
      const actual = new Set(reads.filter((read) => read.name === variable.name).map((read) => read.reader));
      return sameSet(actual, variable.readBy) ? [] : [`${variable.name}: read by ${[...actual].sort().join(', ')}`];
    });
    expect(wrong).toEqual([]);
  });

  it("gives the validated classes' defaults, in the doc and in .env.example", () => {
    const defaults = reads.filter((read): read is EnvironmentRead & { defaultValue: string } => read.defaultValue !== undefined);
    expect(defaults.length).toBeGreaterThan(40);
    const wrongInDoc = defaults.filter((read) => documented.get(read.name)?.defaultValue !== `\`${read.defaultValue}\``);
    expect(
      wrongInDoc.map((read) => `${read.name}: default ${read.defaultValue}, documented ${documented.get(read.name)?.defaultValue}`),
    ).toEqual([]);
    const wrongInExample = defaults.filter((read) => envExample.has(read.name) && envExample.get(read.name) !== read.defaultValue);
    expect(wrongInExample.map((read) => `${read.name}: default ${read.defaultValue}, .env.example ${envExample.get(read.name)}`)).toEqual(
      [],
    );
  });

  it('mentions the system variables the tests pass on', () => {
    const system = [...new Set(reads.map((read) => read.name))].filter((name) => SYSTEM_VARIABLES.has(name));
    expect(system.filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });

  it('lists every option of EventStoreModuleOptions, nested ones included, and no other', () => {
    const section = sections(doc, 2).find((s) => s.heading.startsWith('Library options'));
    const rows = tableRows(section?.text ?? '', 'option').map(([option]) => /^`([^`]+)`$/.exec(option ?? '')?.[1]);
    expect(rows.filter((row) => row === undefined)).toEqual([]);
    expect(new Set(rows)).toEqual(new Set(optionNames(readFileSync(OPTIONS_FILE, 'utf8'))));
  });
});

/** The rows of the doc's variable tables (first cell a variable name in backticks), by name. */
function documentedVariables(markdown: string): Map<string, DocumentedVariable> {
  const variables = new Map<string, DocumentedVariable>();
  for (const [first, defaultValue, , , readBy] of tableRows(markdown, 'variable')) {
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(first ?? '')?.[1];
    if (name === undefined) continue;
    if (variables.has(name)) throw new Error(`${name} has two rows in docs/configuration.md`);
    variables.set(name, { name, defaultValue: defaultValue ?? '', readBy: new Set((readBy ?? '').split(',').map((r) => r.trim())) });
  }
  return variables;
}

/** The variables of `.env.example`, set (`X=value`: the value) or shown commented out (`# X=...`: `undefined`). */
function envExampleVariables(text: string): Map<string, string | undefined> {
  const variables = new Map<string, string | undefined>();
  for (const line of text.split('\n')) {
    const set = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    const shown = /^# ([A-Z][A-Z0-9_]*)=/.exec(line);
    if (set !== null) variables.set(set[1]!, set[2]!);
    else if (shown !== null) variables.set(shown[1]!, undefined);
  }
  return variables;
}

/** The properties of `EventStoreModuleOptions`, and of the option interfaces of its properties as `parent.child`. */
function optionNames(source: string): string[] {
  const file = ts.createSourceFile(OPTIONS_FILE, source, ts.ScriptTarget.Latest, true);
  const interfaces = new Map(file.statements.filter(ts.isInterfaceDeclaration).map((node) => [node.name.text, node]));
  const propertiesOf = (name: string, prefix: string): string[] =>
    (interfaces.get(name)?.members ?? []).flatMap((member) => {
      if (!ts.isPropertySignature(member)) return [];
      const option = `${prefix}${member.name.getText(file)}`;
      const type = member.type !== undefined && ts.isTypeReferenceNode(member.type) ? member.type.typeName.getText(file) : '';
      return [option, ...(type.endsWith('Options') ? propertiesOf(type, `${option}.`) : [])];
    });
  return propertiesOf('EventStoreModuleOptions', '');
}

function where(read: EnvironmentRead): string {
  return `${read.name} (read by ${read.reader} in ${read.file}:${read.line})`;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((item) => b.has(item));
}
