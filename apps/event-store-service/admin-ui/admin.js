// The event store's admin console: one page, hash routes, every datum from the service's HTTP API
// with the token entered at sign-in (kept in sessionStorage, never in a URL). DOM built with
// textContent only: nothing from the store is ever parsed as HTML.

const TOKEN_KEY = 'eventStoreToken';
const PAGE = 25;
const TAIL_KEPT = 200;

const session = { token: sessionStorage.getItem(TOKEN_KEY), role: null, accessControl: true };
/** The page being shown: navigating away aborts its requests (and its live tail), so a late answer never replaces a newer page. */
let routeController = new AbortController();
let generation = 0;

/** An element: `h('a', { href: '#/x', class: 'y' }, 'text', child)`; `on*` attributes are listeners. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const isAdmin = () => session.role === 'admin';
const enc = encodeURIComponent;
const main = () => document.getElementById('main');

/** A failed API call, with the body's code and message. */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'HTTP_ERROR';
  }
}

/** Calls the API with the session's token; JSON in and out. `alsoOk`: statuses whose body is an answer too. */
async function api(path, { method = 'GET', body, accept = 'application/json', alsoOk = [] } = {}) {
  const headers = { Accept: accept };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: routeController.signal };
  const response = await fetch(path, init);
  const text = await response.text();
  const parsed = text !== '' && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  if (!response.ok && !alsoOk.includes(response.status))
    throw new ApiError(response.status, typeof parsed === 'object' ? parsed : undefined);
  return parsed;
}

/** Renders `nodes` as the page, titled `title`; focus goes to the page for keyboard and screen-reader users. */
function show(title, ...nodes) {
  const page = main();
  page.replaceChildren(h('h1', {}, title), ...nodes);
  document.title = `${title} · Event store admin`;
  page.focus({ preventScroll: true });
}

function errorLine(error) {
  const text = error instanceof ApiError ? `${error.code}: ${error.message}` : String(error);
  return h('p', { class: 'error', role: 'alert' }, text);
}

/** Columns left out on a phone-width screen (their cells carry the class too). */
const NARROW_HIDDEN = new Set(['tags', 'created', 'updated', 'url', 'owner', 'next attempt']);

function table(headings, rows, label) {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { 'aria-label': label },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((heading) => h('th', { scope: 'col', class: NARROW_HIDDEN.has(heading) ? 'hide-narrow' : null }, heading)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

function json(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

/** Asks for confirmation in the page's dialog; resolves true when confirmed. */
function confirmAction(text, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }));
}

// ---- sign-in

function signInView(message) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true });
  const form = h(
    'form',
    { class: 'inline', onsubmit: (event) => void signIn(event, input.value) },
    h('label', { for: 'token' }, 'Access token', input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  show(
    'Sign in',
    h('p', {}, 'Enter a token of the service (EVENT_STORE_TOKENS). A read token sees; an admin token also acts.'),
    form,
    message,
  );
  input.focus();
}

async function signIn(event, token) {
  event.preventDefault();
  session.token = token.trim();
  try {
    await loadSession();
    sessionStorage.setItem(TOKEN_KEY, session.token);
    // Where the user was going (a deep link), else the streams; one render either way.
    const target = VIEWS[currentPath()] ? location.hash : '#/streams';
    if (location.hash === target) void route();
    else location.hash = target;
  } catch (error) {
    session.token = null;
    signInView(errorLine(error));
  }
}

async function loadSession() {
  const answer = await api('/session');
  session.role = answer.role;
  session.accessControl = answer.accessControl;
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = !answer.accessControl;
  document.getElementById('who').textContent = answer.accessControl ? `role: ${answer.role}` : 'access control off';
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(session, { token: null, role: null });
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  document.getElementById('who').textContent = '';
  routeController.abort();
  history.replaceState(null, '', '#/');
  signInView(message);
}

// ---- streams

async function streamsView(params) {
  const prefix = params.get('prefix') ?? '';
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (prefix) query.set('prefix', prefix);
  if (params.get('after')) query.set('after', params.get('after'));
  const search = h('input', { id: 'prefix', name: 'prefix', value: prefix, placeholder: 'game-' });
  const form = h(
    'form',
    { class: 'inline', role: 'search', onsubmit: (event) => (event.preventDefault(), go('streams', { prefix: search.value })) },
    h('label', { for: 'prefix' }, 'Stream id prefix', search),
    h('button', { type: 'submit' }, 'Search'),
  );
  const page = await api(`/streams?${query}`);
  const rows = page.streams.map((stream) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: link('stream', { id: stream.streamId }) }, stream.streamId)),
      h('td', {}, stream.version),
      h('td', {}, stream.deleted ? 'soft-deleted' : ''),
      h('td', { class: 'hide-narrow' }, when(stream.updatedAt)),
    ),
  );
  const next = page.nextAfter ? h('a', { href: link('streams', { prefix, after: page.nextAfter }) }, 'Next page →') : null;
  show(
    'Streams',
    form,
    table(['stream', 'version', 'state', 'updated'], rows, 'Streams'),
    h('p', {}, next ?? h('span', { class: 'muted' }, 'No more streams.')),
  );
}

async function streamView(params) {
  const id = params.get('id');
  const fromVersion = Number(params.get('from') ?? 1);
  const info = await api(`/streams/${enc(id)}`);
  const page = info.deleted
    ? { events: [], nextFromVersion: null } // a soft-deleted stream reads as STREAM_DELETED
    : await api(`/streams/${enc(id)}/events?direction=forward&fromVersion=${fromVersion}&limit=${PAGE}`);
  const rows = page.events.map((event) => eventRow(event, event.link?.streamVersion ?? event.streamVersion));
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'version'),
    h('dd', {}, info.version),
    h('dt', {}, 'updated'),
    h('dd', {}, when(info.updatedAt)),
    h('dt', {}, 'deleted'),
    h('dd', {}, info.deleted ? 'yes (soft)' : 'no'),
    h('dt', {}, 'metadata'),
    h('dd', {}, json(info.metadata)),
  );
  const nav = h(
    'p',
    { class: 'actions' },
    fromVersion > 1 ? h('a', { href: link('stream', { id, from: Math.max(1, fromVersion - PAGE) }) }, '← Previous') : null,
    page.nextFromVersion ? h('a', { href: link('stream', { id, from: page.nextFromVersion }) }, 'Next →') : null,
  );
  show(`Stream ${id}`, facts, h('h2', {}, 'Events'), eventsTable(rows, `Events of ${id}`), nav);
}

function eventRow(event, version) {
  return h(
    'tr',
    {},
    h('td', {}, version),
    h('td', {}, event.globalPosition),
    h(
      'td',
      {},
      h('a', { href: link('event', { id: event.eventId }) }, event.eventType),
      event.link ? h('span', { class: 'muted' }, ` (linked: ${event.streamId} @ ${event.streamVersion})`) : null,
    ),
    h('td', { class: 'hide-narrow' }, (event.tags ?? []).join(', ')),
    h('td', { class: 'hide-narrow' }, when(event.createdAt)),
    h('td', {}, h('details', {}, h('summary', {}, 'data'), json(event.data))),
  );
}

function eventsTable(rows, label) {
  return table(['version', 'position', 'type', 'tags', 'created', 'data'], rows, label);
}

async function eventView(params) {
  const id = params.get('id');
  const input = h('input', { id: 'event-id', name: 'id', value: id ?? '', placeholder: 'event id (UUID)', size: 38 });
  const form = h(
    'form',
    { class: 'inline', role: 'search', onsubmit: (event) => (event.preventDefault(), go('event', { id: input.value.trim() })) },
    h('label', { for: 'event-id' }, 'Event id', input),
    h('button', { type: 'submit' }, 'Find'),
  );
  if (!id) return show('Find an event', form);
  const event = await api(`/events/${enc(id)}`);
  const facts = h(
    'dl',
    { class: 'facts' },
    ...[
      ['type', event.eventType],
      [
        'stream',
        h('a', { href: link('stream', { id: event.streamId, from: event.streamVersion }) }, `${event.streamId} @ ${event.streamVersion}`),
      ],
      ['position', event.globalPosition],
      ['schema version', event.schemaVersion],
      ['created', when(event.createdAt)],
      ['tags', (event.tags ?? []).join(', ') || '—'],
      ['causation', event.causationId ?? '—'],
      ['correlation', event.correlationId ?? '—'],
    ].flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
  show(`Event ${event.eventId}`, form, facts, h('h2', {}, 'Data'), json(event.data), h('h2', {}, 'Metadata'), json(event.metadata));
}

// ---- live tail of $all

async function tailView() {
  const rows = h('tbody', {});
  const status = h('p', { class: 'muted', role: 'status', id: 'tail-status' }, 'Connecting…');
  const { signal } = routeController;
  const stop = h('button', { type: 'button', onclick: () => (routeController.abort(), (status.textContent = 'Stopped.')) }, 'Stop');
  delete main().dataset.live;
  show(
    'Live tail of $all',
    h('p', {}, 'New events as they are appended, newest first.'),
    h('div', { class: 'actions' }, stop),
    status,
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { 'aria-label': 'Live events' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['position', 'stream', 'type', 'created'].map((text) => h('th', { scope: 'col' }, text)),
          ),
        ),
        rows,
      ),
    ),
  );
  // Until stopped: a stream the server ends (a restart, a proxy's timeout) is opened again after the last event seen.
  let after = 'end';
  const opened = () => {
    status.textContent = 'Live.';
    main().dataset.live = 'open';
  };
  while (!signal.aborted) {
    try {
      for await (const event of liveEvents(`/all/subscribe?fromPosition=${after}`, signal, opened)) {
        after = String(event.globalPosition);
        rows.prepend(tailRow(event));
        while (rows.children.length > TAIL_KEPT) rows.lastElementChild.remove();
      }
      if (signal.aborted) return;
      status.textContent = 'The stream ended; reconnecting…';
    } catch (error) {
      if (signal.aborted) return;
      status.textContent = `${error instanceof ApiError ? `${error.code}: ` : ''}${error.message}; reconnecting…`;
    }
    delete main().dataset.live;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function tailRow(event) {
  return h(
    'tr',
    {},
    h('td', {}, event.globalPosition),
    h('td', {}, h('a', { href: link('stream', { id: event.streamId, from: event.streamVersion }) }, event.streamId)),
    h('td', {}, h('a', { href: link('event', { id: event.eventId }) }, event.eventType)),
    h('td', {}, when(event.createdAt)),
  );
}

/**
 * The events of a Server-Sent Events route, read with fetch (EventSource cannot send the token).
 * Yields each `data` of a message without an `event:` name; `onOpen` once the stream is open; a
 * `close` event ends it with its reason; returns when the server ends the stream.
 */
async function* liveEvents(path, signal, onOpen) {
  const headers = { Accept: 'text/event-stream' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const response = await fetch(path, { headers, signal });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => undefined));
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n'); // any of the line endings SSE allows
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const message = parseMessage(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (message.event === 'close') throw new Error(`The server ended the stream (${closeReason(message.data)})`);
      if (message.data !== undefined && message.event === undefined) yield JSON.parse(message.data);
    }
  }
}

function closeReason(data) {
  try {
    const reason = JSON.parse(data);
    return `${reason.code}: ${reason.message}`;
  } catch {
    return String(data);
  }
}

function parseMessage(block) {
  const message = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue; // a heartbeat comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`;
    else if (field === 'event') message.event = value;
  }
  return message;
}

// ---- subscriptions

async function subscriptionsView() {
  const { subscriptions } = await api('/subscriptions');
  const rows = subscriptions.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: link('subscription', { name: s.name }) }, s.name)),
      h('td', { class: 'hide-narrow' }, s.url),
      h('td', {}, s.checkpoint),
      h('td', {}, s.lag),
      h('td', {}, s.failed),
      h('td', {}, s.dead),
      h('td', { class: 'hide-narrow' }, s.owner ?? '—'),
    ),
  );
  show(
    'Subscriptions',
    subscriptions.length === 0
      ? h('p', { class: 'muted' }, 'No webhook subscriptions.')
      : table(['name', 'url', 'checkpoint', 'lag', 'failed', 'dead', 'owner'], rows, 'Subscriptions'),
  );
}

async function subscriptionView(params) {
  const name = params.get('name');
  const [s, { deliveries }] = await Promise.all([api(`/subscriptions/${enc(name)}`), api(`/subscriptions/${enc(name)}/failed`)]);
  const facts = h(
    'dl',
    { class: 'facts', id: 'subscription-facts' },
    ...[
      ['url', s.url],
      ['stream', s.streamId],
      ['checkpoint', s.checkpoint],
      ['lag', s.lag],
      ['failed', s.failed],
      ['dead', s.dead],
      ['owner', s.owner ?? '—'],
      ['lease until', when(s.leaseUntil)],
      ['on failure', s.onFailure],
    ].flatMap(([term, value]) => [h('dt', {}, term), h('dd', { 'data-fact': term }, value)]),
  );
  const rows = deliveries.map((d) =>
    h(
      'tr',
      {},
      h('td', {}, d.status),
      h('td', {}, h('a', { href: link('event', { id: d.eventId }) }, `${d.streamId} @ ${d.streamVersion}`)),
      h('td', {}, d.attempts),
      h('td', {}, d.lastError),
      h('td', { class: 'hide-narrow' }, when(d.nextAttemptAt)),
    ),
  );
  const failures =
    deliveries.length === 0
      ? h('p', { class: 'muted', id: 'no-failures' }, 'No failed deliveries.')
      : table(['status', 'event', 'attempts', 'last error', 'next attempt'], rows, 'Failed deliveries');
  show(`Subscription ${name}`, facts, isAdmin() ? subscriptionActions(s) : null, h('h2', {}, 'Failed and dead deliveries'), failures);
}

/** The admin's buttons: replay, reset, delete, each confirmed first. */
function subscriptionActions(s) {
  const position = h('input', { id: 'reset-position', type: 'text', value: '0', inputmode: 'numeric', pattern: '[0-9]+' });
  const result = h('p', { role: 'status', id: 'action-result' });
  const act = async (question, button, run) => {
    if (!(await confirmAction(question, button))) return;
    try {
      result.textContent = await run();
    } catch (error) {
      result.replaceChildren(errorLine(error));
    }
  };
  // The page again a moment later (the worker delivers within a second), if it is still the one shown.
  const refreshSoon = () => {
    const here = location.hash;
    setTimeout(() => location.hash === here && void route(), 1500);
  };
  const replay = () =>
    act(`Deliver the failed and dead deliveries of ${s.name} again now?`, 'Replay', async () => {
      const { replayed } = await api(`/subscriptions/${enc(s.name)}/failed/replay`, { method: 'POST' });
      refreshSoon();
      return `${replayed} deliveries made due now.`;
    });
  const reset = () => {
    if (!/^\d+$/.test(position.value.trim())) {
      result.replaceChildren(errorLine('The checkpoint must be an integer of 0 or more.'));
      return position.focus();
    }
    const to = Number(position.value.trim());
    return act(`Move the checkpoint of ${s.name} to ${to}? Delivery resumes after it.`, 'Reset', async () => {
      await api(`/subscriptions/${enc(s.name)}/reset`, { method: 'POST', body: { position: to } });
      refreshSoon();
      return `Checkpoint moved to ${to}.`;
    });
  };
  const remove = () =>
    act(`Delete the subscription ${s.name}? Its checkpoint and failed deliveries are removed.`, 'Delete', async () => {
      await api(`/subscriptions/${enc(s.name)}`, { method: 'DELETE' });
      location.hash = '#/subscriptions';
      return 'Deleted.';
    });
  return h(
    'section',
    { 'aria-label': 'Actions' },
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'replay', onclick: replay }, 'Replay failed deliveries'),
      h('label', { for: 'reset-position' }, 'Checkpoint', position),
      h('button', { type: 'button', id: 'reset', onclick: reset }, 'Reset checkpoint'),
      h('button', { type: 'button', id: 'delete', class: 'danger', onclick: remove }, 'Delete'),
    ),
    result,
  );
}

// ---- health and metrics

const METRICS = [
  ['event_store_events_appended_total', 'events appended'],
  ['event_store_subscription_lag', 'subscription lag'],
  ['event_store_failed_deliveries', 'failed deliveries'],
  ['event_store_all_visibility_lag_seconds', '$all visibility lag (s)'],
  ['event_store_sse_connections', 'event streams open'],
  ['event_store_pool_connections', 'pool connections'],
];

async function healthView() {
  const health = await api('/health', { alsoOk: [503] }); // 503: a check is down, and the body says which
  const checks = { ...health.info, ...health.error };
  const rows = Object.entries(checks).map(([key, value]) =>
    h(
      'tr',
      {},
      h('td', {}, key),
      h('td', { class: value.status === 'up' ? 'status-up' : 'status-down' }, value.status),
      h('td', {}, json(value)),
    ),
  );
  const metrics = await api('/metrics', { accept: 'text/plain' }).catch((error) => error);
  show(
    'Health',
    h('p', {}, 'Overall: ', h('span', { class: health.status === 'ok' ? 'status-up' : 'status-down', id: 'overall' }, health.status)),
    table(['check', 'status', 'numbers'], rows, 'Health checks'),
    h('h2', {}, 'Key metrics'),
    typeof metrics === 'string' ? metricsTable(metrics) : errorLine(metrics),
  );
}

function metricsTable(text) {
  const rows = [];
  for (const [name, label] of METRICS) {
    for (const line of text.split('\n')) {
      if (!line.startsWith(name) || line.startsWith(`${name}_`)) continue;
      const space = line.lastIndexOf(' ');
      rows.push(h('tr', {}, h('td', {}, label), h('td', {}, line.slice(name.length, space) || '—'), h('td', {}, line.slice(space + 1))));
    }
  }
  return table(['metric', 'labels', 'value'], rows, 'Key metrics');
}

// ---- routing

const VIEWS = {
  streams: streamsView,
  stream: streamView,
  event: eventView,
  tail: tailView,
  subscriptions: subscriptionsView,
  subscription: subscriptionView,
  health: healthView,
};

function link(view, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value !== undefined && value !== ''));
  return `#/${view}${query.size > 0 ? `?${query}` : ''}`;
}

function go(view, params) {
  location.hash = link(view, params);
}

function currentPath() {
  return location.hash.replace(/^#\/?/, '').split('?')[0];
}

async function route() {
  routeController.abort();
  routeController = new AbortController();
  const mine = ++generation;
  if (session.role === null) {
    try {
      // With access control off, no token is needed: this answers without one.
      await loadSession();
    } catch (error) {
      if (mine !== generation) return;
      const hadToken = session.token !== null;
      sessionStorage.removeItem(TOKEN_KEY);
      session.token = null;
      return signInView(hadToken ? errorLine(error) : undefined);
    }
  }
  const path = currentPath();
  const search = location.hash.split('?')[1] ?? '';
  const view = VIEWS[path] ?? streamsView;
  for (const anchor of document.querySelectorAll('#nav a')) {
    if (anchor.getAttribute('href') === `#/${path}`) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
  try {
    await view(new URLSearchParams(search));
  } catch (error) {
    if (mine !== generation || error?.name === 'AbortError') return; // another page is shown now
    if (error instanceof ApiError && error.status === 401) return signOut(errorLine(error)); // the token is no longer valid
    show('Something went wrong', errorLine(error));
  }
}

document.getElementById('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => void route());
void route();
