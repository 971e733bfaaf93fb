import request from 'supertest';
import type { TestApp } from './test-app.js';

/** A fenced code block of a Markdown document: its language and text. */
export interface CodeBlock {
  language: string;
  text: string;
}

/** One `curl` command of a doc, as the request it sends. */
export interface CurlRequest {
  method: string;
  /** Path and query, e.g. `/streams/game-1/events?direction=forward`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What the service answered. */
export interface Answer {
  status: number;
  body: unknown;
}

/** The fenced code blocks of `markdown`, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let current: CodeBlock | undefined;
  for (const line of markdown.split('\n')) {
    if (current === undefined && line.startsWith('```')) {
      current = { language: line.slice(3).trim(), text: '' };
    } else if (current !== undefined && line.startsWith('```')) {
      blocks.push(current);
      current = undefined;
    } else if (current !== undefined) {
      current.text += `${line}\n`;
    }
  }
  return blocks;
}

/** The comment lines (`# ...`) of a shell block, without the `#`. */
export function shellComments(block: string): string[] {
  return block
    .split('\n')
    .filter((line) => line.startsWith('#'))
    .map((line) => line.replace(/^#\s?/, ''));
}

/**
 * The `curl` commands of a shell block: `curl -s [-X METHOD] [-H 'Name: value']... [-d 'body']
 * URL`, continued over lines ending in `\`, the URL on `localhost:3000`.
 */
export function curlRequests(block: string): CurlRequest[] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.startsWith('curl '))
    .map((line) => curlRequest(shellWords(line)));
}

/** Sends a doc's request to the app, as curl would. */
export async function send(t: TestApp, curl: CurlRequest): Promise<Answer> {
  const method = curl.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete' | 'head';
  let pending = request(t.http)[method](curl.path);
  for (const [name, value] of Object.entries(curl.headers)) pending = pending.set(name, value);
  const response = curl.body === undefined ? await pending : await pending.send(curl.body);
  return { status: response.status, body: response.body };
}

/** The words of a shell command line: single and double quotes group (no expansion). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(line); match !== null; match = pattern.exec(line)) {
    words.push(match[1] ?? match[2] ?? match[3]!);
  }
  return words;
}

function curlRequest(words: string[]): CurlRequest {
  const curl: CurlRequest = { method: 'GET', path: '', headers: {} };
  for (let i = 1; i < words.length; i += 1) {
    const word = words[i]!;
    if (word === '-X') curl.method = words[++i]!;
    else if (word === '-H') {
      const [name, ...value] = words[++i]!.split(':');
      curl.headers[name!.trim()] = value.join(':').trim();
    } else if (word === '-d') {
      curl.body = words[++i];
      if (curl.method === 'GET') curl.method = 'POST';
    } else if (word === '--max-time') i += 1;
    else if (word.startsWith('localhost:3000')) curl.path = word.slice('localhost:3000'.length);
    else if (!word.startsWith('-')) throw new Error(`Unexpected word in a doc's curl command: ${word}`);
  }
  if (curl.path === '') throw new Error(`A doc's curl command without a localhost:3000 URL: ${words.join(' ')}`);
  return curl;
}
