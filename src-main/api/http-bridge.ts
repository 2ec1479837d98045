/**
 * The HTTP bridge: the same contract as the Electron IPC, over loopback HTTP, so the same
 * renderer runs in a browser (`npm run serve`) for tests and headless use.
 *   POST /api/<method>   JSON input → Envelope JSON
 *   GET  /api/events     server-sent events (progress, streamed answer tokens)
 *   GET  /*              the built renderer (out/renderer)
 * It binds to 127.0.0.1 and refuses requests whose Host or Origin is not this server
 * (DNS-rebinding and cross-site protection).
 *
 * Loopback alone is not the UI: without API keys, every /api call must carry the per-launch
 * UI secret (header X-Fieldbook-Session; the event stream, which EventSource opens without
 * headers, takes it as ?session=). The secret reaches the browser only in the fragment of
 * `uiUrl` (fragments are never sent to a server); the renderer keeps it for the tab.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createAccessSession, roleForApiKey, type AccessSession } from '../core/access/roles';
import { describeError, FieldbookError } from '../core/errors';
import type { Db } from '../core/store/db';
import type { Api } from './handlers';
import { rendererFile } from './renderer-files';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

const MAX_BODY = 2 * 1024 * 1024;

/** The header carrying the per-launch UI secret, and the fragment/query parameter that carry it. */
export const UI_SESSION_HEADER = 'X-Fieldbook-Session';
export const UI_SESSION_PARAM = 'session';

export interface HttpBridge {
  /** The server's origin, e.g. http://127.0.0.1:5179 */
  url: string;
  /** The address to open in a browser: `url` with the UI secret in its fragment (`url/` with API keys). */
  uiUrl: string;
  close(): Promise<void>;
}

export interface HttpBridgeOptions {
  port?: number;
  host?: string;
  staticDir: string;
  db: Db;
  /** The session of the person using the UI on this PC (loopback, no API keys). */
  session: AccessSession;
  /** Require an X-Api-Key on every request (mandatory on any non-loopback address). */
  requireApiKeys?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** A percent-decoded path, or null when it is malformed (a bad request, never a crash). */
function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Constant-time comparison of a presented secret with the expected one. */
function sameSecret(presented: string | undefined | null, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startHttpBridge(api: Api, opts: HttpBridgeOptions): Promise<HttpBridge> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && opts.requireApiKeys !== true) {
    throw new FieldbookError('INVALID_INPUT', { detail: 'binding to a non-loopback address needs API keys' });
  }
  const requireKeys = opts.requireApiKeys === true;
  const keySessions = new Map<string, AccessSession>();
  /** This launch's UI secret: 32 random bytes. */
  const uiSecret = randomBytes(32).toString('base64url');
  /**
   * The caller's session: the local UI session for a caller holding the UI secret, or the fixed
   * role of a valid API key (null = refused).
   */
  const sessionOf = (req: http.IncomingMessage, url: URL): AccessSession | null => {
    if (!requireKeys) {
      const header = req.headers[UI_SESSION_HEADER.toLowerCase()];
      const presented =
        typeof header === 'string'
          ? header
          : url.pathname === '/api/events'
            ? url.searchParams.get(UI_SESSION_PARAM)
            : null;
      return sameSecret(presented, uiSecret) ? opts.session : null;
    }
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || !key) return null;
    const found = roleForApiKey(opts.db, key);
    if (!found) return null;
    let s = keySessions.get(found.name);
    if (!s) {
      s = createAccessSession({
        db: opts.db,
        actor: `api-key:${found.name}`,
        idleMs: Infinity,
        now: () => new Date(),
        fixedRole: found.role,
      });
      keySessions.set(found.name, s);
    }
    return s;
  };
  const staticDir = path.resolve(opts.staticDir);
  let port = opts.port ?? 0;
  /** Event-stream clients and their sessions: an event reaches only the session whose call caused it. */
  const sseClients = new Map<http.ServerResponse, AccessSession>();
  api.events.on('event', (e, from) => {
    const line = `data: ${JSON.stringify(e)}\n\n`;
    for (const [res, s] of sseClients) if (s === from) res.write(line);
  });

  const allowedHosts = (): Set<string> =>
    new Set([
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      ...(LOOPBACK.has(host) ? [] : [`${host}:${port}`]),
    ]);

  const send = (res: http.ServerResponse, status: number, body: string | Buffer, type = 'application/json'): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    res.end(body);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const hostHeader = req.headers.host ?? '';
    const origin = req.headers.origin;
    if (
      !allowedHosts().has(hostHeader) ||
      (origin !== undefined && !allowedHosts().has(origin.replace(/^https?:\/\//, '')))
    ) {
      send(
        res,
        403,
        JSON.stringify({ ok: false, error: { code: 'INVALID_INPUT', message: 'Forbidden host or origin', hint: '' } }),
      );
      return;
    }
    const url = new URL(req.url ?? '/', `http://${hostHeader}`);
    if (!url.pathname.startsWith('/api/')) {
      // The renderer's own files: the same for everyone, never data.
      if (req.method !== 'GET') send(res, 405, 'Method not allowed', 'text/plain');
      else
        void rendererFile(staticDir, url.pathname)
          .then((f) => send(res, f.status, f.body, f.type))
          .catch(() => res.end());
      return;
    }
    const session = sessionOf(req, url);
    if (!session) {
      const error = describeError(
        requireKeys
          ? new FieldbookError('ACCESS_DENIED', { detail: 'missing or unknown X-Api-Key' })
          : new FieldbookError('UI_SESSION_REQUIRED', { detail: `missing or wrong ${UI_SESSION_HEADER}` }),
      );
      send(res, 401, JSON.stringify({ ok: false, error }));
      return;
    }
    if (url.pathname === '/api/events' && req.method === 'GET') {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      sseClients.set(res, session);
      req.on('close', () => sseClients.delete(res));
      return;
    }
    if (req.method !== 'POST' || !(req.headers['content-type'] ?? '').startsWith('application/json')) {
      send(
        res,
        405,
        JSON.stringify({
          ok: false,
          error: { code: 'INVALID_INPUT', message: 'POST application/json only', hint: '' },
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let input: unknown;
      try {
        input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        send(
          res,
          400,
          JSON.stringify({ ok: false, error: { code: 'INVALID_INPUT', message: 'Body is not JSON', hint: '' } }),
        );
        return;
      }
      void api
        .invoke(safeDecode(url.pathname.slice(5)) ?? '', input, session)
        .then((envelope) => send(res, 200, JSON.stringify(envelope)));
    });
  };
  // A malformed request is answered, never allowed to end the process.
  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) send(res, 400, 'Bad request', 'text/plain');
      else res.end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (address && typeof address === 'object') port = address.port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    uiUrl: requireKeys ? `${origin}/` : `${origin}/#${UI_SESSION_PARAM}=${uiSecret}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of sseClients.keys()) res.end();
        server.close(() => resolve());
      }),
  };
}
