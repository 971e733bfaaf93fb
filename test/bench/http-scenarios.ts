import type autocannon from 'autocannon';
import type { EventStore } from '@game-bot/event-store';
import { alternate, httpSide, librarySide, type LoadMeasurement, type LoadSide } from './http-load.js';
import { appendEvents, benchEvents, PAGE_SIZE, READ_STREAM, readStreamPages, SEEDED_EVENTS } from './scenarios.js';
import type { ServiceProcess } from './service-process.js';
import { StoreTarget } from './targets.js';

/** The library in-process and the service over HTTP, measured the same way in the same run. */
export interface HttpComparison {
  library: LoadMeasurement;
  http: LoadMeasurement;
}

/** Both ends of the HTTP scenarios: the service, and a library store on the service's schema. */
export interface HttpTargets {
  service: ServiceProcess;
  library: EventStore;
  seconds: number;
  warmupSeconds: number;
}

/** Concurrent writers of the append scenario, as in scenario b. */
export const HTTP_WRITERS = 32;
/** Concurrent readers of the read scenario, as in scenario d. */
export const HTTP_READERS = 4;
/** Slices each side's measurement is cut into, alternating with the other side's. */
const ROUNDS = 4;

/**
 * Single-event appends with `expectedVersion: "any"`: 32 library loops, each on a stream of its
 * own (scenario b), against 32 autocannon connections, each request on a stream no other request
 * in flight uses.
 */
export async function compareAppends(targets: HttpTargets): Promise<HttpComparison> {
  await expectStatus(targets.service, 'POST', '/streams/http-check/events', appendBody(0), 201);
  const libraryOp = appendEvents('http-lib', 1);
  const store = new StoreTarget(targets.library);
  const library = librarySide(HTTP_WRITERS, (worker) => libraryOp(store, worker));
  const http = httpSide({ ...load(targets.service, HTTP_WRITERS), requests: appendRequests });
  return measure(targets, library, http);
}

/** Pages of 1,000 events of a 10,000-event stream from random versions, 4 readers (scenario d). */
export async function compareReads(targets: HttpTargets): Promise<HttpComparison> {
  const page = await expectStatus(targets.service, 'GET', readPath(1), undefined, 200);
  const events = (JSON.parse(page) as { events?: unknown[] }).events?.length;
  if (events !== PAGE_SIZE) {
    throw new Error(`GET ${readPath(1)} returned ${events} events, expected ${PAGE_SIZE}`);
  }
  const libraryOp = readStreamPages();
  const store = new StoreTarget(targets.library);
  const library = librarySide(HTTP_READERS, (worker) => libraryOp(store, worker));
  const http = httpSide({ ...load(targets.service, HTTP_READERS), requests: readRequests });
  return measure(targets, library, http);
}

/** Library first, as the store is in the other scenarios; the slices alternate after the warm-ups. */
async function measure(targets: HttpTargets, library: LoadSide, http: LoadSide): Promise<HttpComparison> {
  const settings = { seconds: targets.seconds, warmupSeconds: targets.warmupSeconds, rounds: ROUNDS };
  const [onLibrary, overHttp] = await alternate(library, http, settings);
  return { library: onLibrary, http: overHttp };
}

function load(service: ServiceProcess, connections: number) {
  return { url: service.baseUrl, connections, serviceCpuSeconds: () => service.cpuSeconds() };
}

/** Per-slice plan of append requests; what `setupRequest` keeps per request lives in autocannon's context. */
function appendRequests(): autocannon.Request[] {
  // Streams not in use by a request in flight. A request takes one when it is built and gives it
  // back with its response, so no two requests in flight share a stream row (as the library's
  // loops don't), and a connection mostly keeps the same stream. A request that failed without
  // a response keeps its stream, and a new one is made.
  const free = Array.from({ length: HTTP_WRITERS }, (_, index) => `http-api-${index}`);
  let made = 0;
  let sequence = 0;
  return [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request, context) => {
        const streamId = free.pop() ?? `http-api-extra-${made++}`;
        (context as { streamId?: string }).streamId = streamId;
        return { ...request, path: `/streams/${streamId}/events`, body: appendBody((sequence += 1)) };
      },
      onResponse: (_status, _body, context) => {
        const { streamId } = context as { streamId?: string };
        if (streamId !== undefined) free.push(streamId);
      },
    },
  ];
}

function readRequests(): autocannon.Request[] {
  return [
    {
      method: 'GET',
      setupRequest: (request) => ({ ...request, path: readPath(1 + Math.floor(Math.random() * (SEEDED_EVENTS - PAGE_SIZE + 1))) }),
    },
  ];
}

/** One event of the bench's usual shape, as JSON for `POST /streams/{id}/events`. */
function appendBody(sequence: number): string {
  return JSON.stringify({ expectedVersion: 'any', events: benchEvents(1, 0, sequence) });
}

function readPath(fromVersion: number): string {
  return `/streams/${READ_STREAM}/events?fromVersion=${fromVersion}&limit=${PAGE_SIZE}`;
}

/** One request before the load, so that a set-up mistake fails loudly rather than as 32 connections of errors. */
async function expectStatus(
  service: ServiceProcess,
  method: string,
  path: string,
  body: string | undefined,
  status: number,
): Promise<string> {
  const response = await fetch(`${service.baseUrl}${path}`, { method, body, headers: { 'content-type': 'application/json' } });
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`${method} ${path} answered ${response.status}, expected ${status}: ${text.slice(0, 300)}`);
  }
  return text;
}
