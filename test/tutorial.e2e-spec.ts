/**
 * docs/tutorial.md against the example it walks through (apps/word-guess-bot): every ```ts block
 * must be found, to the character and from the start of a line, in the example's sources or its
 * tests; the shell commands must name scripts, files and variables that exist. No database: the
 * example itself runs in test/word-guess-bot.e2e-spec.ts.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(REPO, 'apps/word-guess-bot/src');
const read = (path: string): Promise<string> => readFile(join(REPO, path), 'utf8');

/** The example's TypeScript files (sources and unit tests) and its e2e test, by path. */
async function exampleSources(): Promise<Map<string, string>> {
  const entries = await readdir(EXAMPLE, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(REPO, join(entry.parentPath, entry.name)));
  paths.push('test/word-guess-bot.e2e-spec.ts');
  return new Map(await Promise.all(paths.map(async (path) => [path, await read(path)] as const)));
}

function blocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((match) => match[1]!);
}

/** Whether `block` is in `source` from the start of a line. */
function quotes(source: string, block: string): boolean {
  return source.startsWith(block) || source.includes(`\n${block}`);
}

describe('docs/tutorial.md', () => {
  let tutorial: string;
  let sources: Map<string, string>;
  let shell: string;

  beforeAll(async () => {
    tutorial = await read('docs/tutorial.md');
    sources = await exampleSources();
    shell = blocks(tutorial, 'bash').join('\n');
  });

  it("quotes every TypeScript block from the example's files, to the character", () => {
    const code = blocks(tutorial, 'ts');
    expect(code.length).toBeGreaterThanOrEqual(20);
    const drifted = code.filter((block) => ![...sources.values()].some((source) => quotes(source, block)));
    // A block listed here was changed in the tutorial or in the example: copy the example's text.
    expect(drifted.map((block) => block.split('\n').slice(0, 3).join('\n'))).toEqual([]);
  });

  it('runs npm scripts that exist, and files the build makes from sources that exist', async () => {
    const { scripts } = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    const used = [...shell.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1]!);
    expect(used).toContain('bot');
    for (const script of used) expect(Object.keys(scripts)).toContain(script);
    expect(scripts.bot).toContain('node dist/apps/word-guess-bot/src/main.js');

    const built = [...tutorial.matchAll(/node (dist\/\S+)\.js/g)].map((match) => match[1]!);
    for (const path of [...built, ...[...scripts.bot!.matchAll(/node (dist\/\S+)\.js/g)].map((m) => m[1]!)]) {
      expect(existsSync(join(REPO, `${path.replace(/^dist\//, '')}.ts`))).toBe(true);
    }
    const jestPaths = [...shell.matchAll(/npx jest (.+)/g)].flatMap((match) => match[1]!.trim().split(/\s+/));
    expect(jestPaths.length).toBeGreaterThan(0);
    for (const path of jestPaths) expect(existsSync(join(REPO, path))).toBe(true);
  });

  it("names only the bot's variables, each documented in .env.example and docs/operations.md", async () => {
    const declared = [
      ...(await read('apps/word-guess-bot/src/configuration/bot-environment.ts')).matchAll(/^ {2}(BOT_[A-Z_]+)[?!]?[:=\s]/gm),
    ].map((match) => match[1]!);
    expect(declared).toContain('BOT_WORDS');
    // Those the shell commands set, and those the prose names in `code`.
    const named = [
      ...(shell.match(/\bBOT_[A-Z_]+(?==)/g) ?? []),
      ...[...tutorial.matchAll(/`(BOT_[A-Z_]+)[`=]/g)].map((match) => match[1]!),
    ];
    expect(named).toContain('BOT_WORDS');
    for (const variable of new Set(named)) expect(declared).toContain(variable);
    const envExample = await read('.env.example');
    const operations = await read('docs/operations.md');
    for (const variable of declared) {
      expect(envExample).toMatch(new RegExp(`^#? ?${variable}=`, 'm'));
      expect(operations).toContain(`\`${variable}\``);
    }
  });

  it('links to files that exist', () => {
    const links = [...tutorial.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map((match) => match[1]!).filter((link) => !/^[a-z]+:/.test(link));
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect([link, existsSync(join(REPO, 'docs', link))]).toEqual([link, true]);
  });
});
