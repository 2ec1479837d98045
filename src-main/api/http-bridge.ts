/**
 * The HTTP bridge: the same contract as the Electron IPC, over loopback HTTP, so the same
 * renderer runs in a browser (`npm run serve`) for tests and headless use.
 *   POST /api/<method>   JSON input → Envelope JSON
 *   GET  /api/events     server-sent events (progress, streamed answer tokens)
 *   GET  /*              the built renderer (out/renderer)
 * It binds to 127.0.0.1 and refuses requests whose Host or Origin is not this server
 * (DNS-rebinding and cross-site protection).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createAccessSession, roleForApiKey, type AccessSession } from '../core/access/roles';
import { describeError, FieldbookError } from '../core/errors';
import type { Db } from '../core/store/db';
import type { Api } from './handlers';

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

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.bcmap': 'application/octet-stream',
  '.pfb': 'application/octet-stream',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

const MAX_BODY = 2 * 1024 * 1024;

export interface HttpBridge {
  url: string;
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

export async function startHttpBridge(api: Api, opts: HttpBridgeOptions): Promise<HttpBridge> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && opts.requireApiKeys !== true) {
    throw new FieldbookError('INVALID_INPUT', { detail: 'binding to a non-loopback address needs API keys' });
  }
  const requireKeys = opts.requireApiKeys === true;
  const keySessions = new Map<string, AccessSession>();
  /** The caller's session: the local UI session, or the fixed role of a valid API key (null = refused). */
  const sessionOf = (req: http.IncomingMessage): AccessSession | null => {
    if (!requireKeys) return opts.session;
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
    const session = url.pathname.startsWith('/api/') ? sessionOf(req) : opts.session;
    if (!session) {
      const error = describeError(new FieldbookError('ACCESS_DENIED', { detail: 'missing or unknown X-Api-Key' }));
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
    if (url.pathname.startsWith('/api/')) {
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
      return;
    }
    if (req.method !== 'GET') {
      send(res, 405, 'Method not allowed', 'text/plain');
      return;
    }
    // Static files, contained in staticDir (no traversal).
    const decoded = safeDecode(url.pathname);
    if (decoded === null) {
      send(res, 400, 'Bad request', 'text/plain');
      return;
    }
    const rel = decoded.replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(staticDir, rel);
    const inside = path.relative(staticDir, file);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      send(res, 404, 'Not found', 'text/plain');
      return;
    }
    const target = fs.existsSync(file) && fs.statSync(file).isFile() ? file : path.join(staticDir, 'index.html');
    if (!fs.existsSync(target)) {
      send(res, 404, 'The renderer is not built. Run: npm run build:renderer', 'text/plain');
      return;
    }
    send(res, 200, fs.readFileSync(target), TYPES[path.extname(target)] ?? 'application/octet-stream');
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
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of sseClients.keys()) res.end();
        server.close(() => resolve());
      }),
  };
}
