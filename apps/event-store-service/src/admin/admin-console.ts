import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's files: `apps/event-store-service/admin-ui/`, copied next to the compiled service
 * by `npm run build` (the same relative place from `src/admin/` in both trees).
 */
export const ADMIN_ASSETS = fileURLToPath(new URL('../../admin-ui/', import.meta.url));

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only; no inline script
 * or style, no other origin, no framing.
 */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the admin console at `/admin` (a single page; the router ignores the trailing slash). Its files are
 * static and hold no data: everything it shows comes from the API, with the token the user
 * enters, so the API's roles apply to it as to any client.
 */
export function serveAdminConsole(fastify: FastifyInstance): void {
  // Every answer under /admin, a 404 of a missing file included.
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const path = request.url.split('?', 1)[0]!;
    if (path === '/admin' || path.startsWith('/admin/')) void reply.headers(SECURITY_HEADERS);
    done(null, payload);
  });
  const index = join(ADMIN_ASSETS, 'index.html');
  if (!existsSync(index)) {
    // A build that left the console's files out (tsc alone): the service runs, the console says why not.
    fastify.get('/admin', (_request, reply) => reply.code(503).type('text/plain; charset=utf-8').send(NOT_BUILT));
    return;
  }
  void fastify.register(fastifyStatic, { root: ADMIN_ASSETS, prefix: '/admin/', decorateReply: false, dotfiles: 'deny' });
  // The page itself at `/admin` (and `/admin/`: the router ignores the trailing slash).
  const page = readFileSync(index);
  fastify.get('/admin', (_request, reply) => reply.type('text/html; charset=utf-8').send(page));
}

const NOT_BUILT = `The admin console's files are missing from ${ADMIN_ASSETS}: build the service with npm run build`;

const SECURITY_HEADERS = {
  'Content-Security-Policy': ADMIN_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};
