import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/** Which program reads a variable, by where the code reading it lives. */
export type EnvironmentReader = 'service' | 'CLI' | 'bot' | 'testing' | 'tests' | 'bench' | 'library';

/** One read of an environment variable in the source. */
export interface EnvironmentRead {
  name: string;
  /** Path from the repository root, with `/`. */
  file: string;
  line: number;
  reader: EnvironmentReader;
  /** A validated class's default for it, as written (`30000`, `postgres`, `false`), when it is a literal. */
  defaultValue?: string;
}

/** Where the code that may read the environment lives: the programs', the package's test entry, the tests' and the bench's. */
const ROOTS = ['apps', 'libs', 'migrations', 'test'];
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', 'data', 'coverage']);
/** The fixture app of the packed-package test is TypeScript kept as `.ts.txt`, so that the build leaves it alone. */
const SOURCE_FILE = /\.(ts|js|mjs)$|\.ts\.txt$/;
const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Every named read of an environment variable under the repository `root`, in every form the code uses. */
export function environmentReads(root: string): EnvironmentRead[] {
  return ROOTS.flatMap((directory) => sourceFiles(join(root, directory))).flatMap((path) => {
    const file = relative(root, path).split(sep).join('/');
    const source = ts.createSourceFile(file, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, scriptKind(file));
    return readsIn(source).map((read) => ({ ...read, file, reader: readerOf(file) }));
  });
}

/** The program a file belongs to; `library` is code that must not read the environment at all. */
export function readerOf(file: string): EnvironmentReader {
  if (file.startsWith('apps/event-store-service/') || file.startsWith('migrations/')) return 'service';
  if (file.startsWith('apps/word-guess-bot/')) return 'bot';
  if (/^libs\/[^/]+\/src\/cli\//.test(file)) return 'CLI';
  if (/^libs\/[^/]+\/src\/testing\//.test(file)) return 'testing';
  if (file.startsWith('test/bench/')) return 'bench';
  if (file.startsWith('test/') || /^libs\/[^/]+\/test\//.test(file)) return 'tests';
  return 'library';
}

function sourceFiles(directory: string): string[] {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRECTORIES.has(entry.name) ? [] : sourceFiles(path);
    return SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function scriptKind(file: string): ts.ScriptKind {
  return file.endsWith('.js') || file.endsWith('.mjs') ? ts.ScriptKind.JS : ts.ScriptKind.TS;
}

/**
 * The reads in one file. The forms: `process.env.X` and `process.env['X']`; the same on a name
 * bound to the environment (typed `NodeJS.ProcessEnv`, or initialised from `process.env` or a copy
 * of it); destructuring (`const { X } = process.env`); accessors (a function indexing the
 * environment by its parameter, like `value('X')` of the command line), called with a literal
 * name; and validated environment classes (every property named like a variable, as
 * class-validator checks them at boot), each property being a variable. Writes (`process.env.X =`)
 * and `delete` are not reads.
 */
function readsIn(source: ts.SourceFile): Array<Pick<EnvironmentRead, 'name' | 'line' | 'defaultValue'>> {
  const aliases = environmentAliases(source);
  const accessors = environmentAccessors(source, aliases);
  const reads: Array<Pick<EnvironmentRead, 'name' | 'line' | 'defaultValue'>> = [];
  const add = (name: string | undefined, node: ts.Node, defaultValue?: string): void => {
    if (name !== undefined && VARIABLE_NAME.test(name)) {
      reads.push({ name, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, defaultValue });
    }
  };
  const visit = (node: ts.Node): void => {
    if (isEnvironmentAccess(node, aliases) && !isWritten(node)) add(accessedName(node), node);
    if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer &&
      isEnvironment(node.initializer, aliases)
    ) {
      node.name.elements.forEach((element) => add(bindingName(element), element));
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && accessors.has(node.expression.text)) {
      const [first] = node.arguments;
      if (first !== undefined && ts.isStringLiteralLike(first)) add(first.text, first);
    }
    if (ts.isClassDeclaration(node)) {
      environmentClassProperties(node).forEach((property) =>
        add(property.name.getText(source), property, literalText(property.initializer)),
      );
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return reads;
}

/** `process.env` itself, or a name bound to the environment. */
function isEnvironment(node: ts.Expression, aliases: Set<string>): boolean {
  if (ts.isIdentifier(node)) return aliases.has(node.text);
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'env' &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'process'
  );
}

function isEnvironmentAccess(node: ts.Node, aliases: Set<string>): node is ts.PropertyAccessExpression | ts.ElementAccessExpression {
  return (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) && isEnvironment(node.expression, aliases);
}

function accessedName(node: ts.PropertyAccessExpression | ts.ElementAccessExpression): string | undefined {
  if (ts.isPropertyAccessExpression(node)) return node.name.text;
  return ts.isStringLiteralLike(node.argumentExpression) ? node.argumentExpression.text : undefined;
}

function isWritten(node: ts.Expression): boolean {
  const parent = node.parent;
  if (ts.isDeleteExpression(parent)) return true;
  return ts.isBinaryExpression(parent) && parent.left === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;
}

function bindingName(element: ts.BindingElement): string | undefined {
  const key = element.propertyName ?? element.name;
  return ts.isIdentifier(key) || ts.isStringLiteralLike(key) ? key.text : undefined;
}

/** Names bound to the environment: typed `NodeJS.ProcessEnv`, or initialised from `process.env` (or a spread copy of it). */
function environmentAliases(source: ts.SourceFile): Set<string> {
  const aliases = new Set<string>();
  const visit = (node: ts.Node): void => {
    if ((ts.isParameter(node) || ts.isVariableDeclaration(node)) && ts.isIdentifier(node.name)) {
      const typed = node.type !== undefined && node.type.getText(source) === 'NodeJS.ProcessEnv';
      if (typed || (node.initializer !== undefined && isEnvironmentCopy(node.initializer, aliases))) aliases.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return aliases;
}

function isEnvironmentCopy(node: ts.Expression, aliases: Set<string>): boolean {
  if (isEnvironment(node, aliases)) return true;
  return (
    ts.isObjectLiteralExpression(node) && node.properties.some((p) => ts.isSpreadAssignment(p) && isEnvironment(p.expression, aliases))
  );
}

/** Functions that read the variable their first parameter names (`const value = (name) => environment[name]`). */
function environmentAccessors(source: ts.SourceFile, aliases: Set<string>): Set<string> {
  const accessors = new Set<string>();
  const visit = (node: ts.Node): void => {
    const named = namedFunction(node);
    if (named !== undefined) {
      const [parameter] = named.fn.parameters;
      if (parameter !== undefined && ts.isIdentifier(parameter.name) && indexesEnvironmentBy(named.fn, parameter.name.text, aliases)) {
        accessors.add(named.name);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return accessors;
}

function namedFunction(node: ts.Node): { name: string; fn: ts.SignatureDeclaration } | undefined {
  if (ts.isFunctionDeclaration(node) && node.name !== undefined) return { name: node.name.text, fn: node };
  if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined) {
    const initializer = node.initializer;
    if (ts.isArrowFunction(initializer) || ts.isFunctionExpression(initializer)) return { name: node.name.text, fn: initializer };
  }
  return undefined;
}

function indexesEnvironmentBy(fn: ts.Node, parameter: string, aliases: Set<string>): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (
      ts.isElementAccessExpression(node) &&
      isEnvironment(node.expression, aliases) &&
      ts.isIdentifier(node.argumentExpression) &&
      node.argumentExpression.text === parameter
    ) {
      found = true;
    }
    if (!found) ts.forEachChild(node, visit);
  };
  visit(fn);
  return found;
}

/** The properties of a validated environment class: one whose properties are all named like variables, some decorated. */
function environmentClassProperties(node: ts.ClassDeclaration): ts.PropertyDeclaration[] {
  const properties = node.members.filter(ts.isPropertyDeclaration);
  const variables = properties.every((property) => ts.isIdentifier(property.name) && VARIABLE_NAME.test(property.name.text));
  const validated = properties.some((property) => ts.getDecorators(property) !== undefined);
  return properties.length > 0 && variables && validated ? properties : [];
}

/** The text of a literal default (`30_000` as `30000`), or `undefined` for anything computed. */
function literalText(node: ts.Expression | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (ts.isNumericLiteral(node) || ts.isStringLiteralLike(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return 'true';
  if (node.kind === ts.SyntaxKind.FalseKeyword) return 'false';
  return undefined;
}
