import { readFileSync } from 'node:fs';

/** One `## ` or `### ` section of a Markdown document: its heading and its text up to the next heading of that level or above. */
export interface MarkdownSection {
  heading: string;
  level: number;
  text: string;
}

/** A Markdown file of `docs/`, read from the repository root (where the tests run). */
export function readDoc(name: string): string {
  return readFileSync(`docs/${name}`, 'utf8');
}

/** The sections of `markdown` at `level` (2 for `##`), code blocks taken into account. */
export function sections(markdown: string, level: number): MarkdownSection[] {
  const found: MarkdownSection[] = [];
  let current: MarkdownSection | undefined;
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? null : /^(#+) (.*)$/.exec(line);
    if (heading !== null && heading[1]!.length <= level) {
      current = heading[1]!.length === level ? { heading: heading[2]!.trim(), level, text: '' } : undefined;
      if (current !== undefined) found.push(current);
    } else if (current !== undefined) {
      current.text += `${line}\n`;
    }
  }
  return found;
}

/**
 * The body rows of every table in `markdown` whose header's first cell is `firstHeader` (every
 * table when omitted), each as its trimmed cells.
 */
export function tableRows(markdown: string, firstHeader?: string): string[][] {
  const rows: string[][] = [];
  let header: string[] | undefined;
  let inBody = false;
  for (const line of markdown.split('\n')) {
    const isRow = line.startsWith('|') && line.trimEnd().endsWith('|');
    if (!isRow) {
      inBody = false;
      header = undefined;
    } else if (SEPARATOR_ROW.test(line.trim())) {
      inBody = true;
    } else if (!inBody) {
      header = cells(line);
    } else if (firstHeader === undefined || header?.[0] === firstHeader) {
      rows.push(cells(line));
    }
  }
  return rows;
}

const SEPARATOR_ROW = /^\|[\s|:-]+\|$/;

/** The cells of one table row; `\|` inside a cell is a literal bar. */
function cells(line: string): string[] {
  return line
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}
