/**
 * The built renderer's files, as the HTTP bridge (`GET /…`) and the desktop app's
 * `app://fieldbook/…` protocol both serve them: contained in the renderer folder (no
 * traversal, no links followed out of it), with the right MIME type, and index.html for
 * the app's own routes.
 */
import path from 'node:path';
import { FieldbookError } from '../core/errors';
import { readFileNoFollow } from '../core/util/safe-file';

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.bcmap': 'application/octet-stream',
  '.pfb': 'application/octet-stream',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** Largest renderer file served (the bundle, pdf.js worker and fonts are far smaller). */
const MAX_RENDERER_FILE_BYTES = 32 * 1024 * 1024;

export interface RendererFile {
  status: 200 | 400 | 404;
  body: Buffer | string;
  type: string;
}

const notFound = (body = 'Not found'): RendererFile => ({ status: 404, body, type: 'text/plain; charset=utf-8' });

/** The renderer file for a URL path (still percent-encoded, e.g. `/pdfjs/cmaps/UniCNS-UTF16-H.bcmap`). */
export async function rendererFile(rendererDir: string, urlPath: string): Promise<RendererFile> {
  const root = path.resolve(rendererDir);
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { status: 400, body: 'Bad request', type: 'text/plain; charset=utf-8' };
  }
  if (decoded.includes('\0') || decoded.includes('\\'))
    return { status: 400, body: 'Bad request', type: 'text/plain; charset=utf-8' };
  const file = path.resolve(root, decoded.replace(/^\/+/, '') || 'index.html');
  const inside = path.relative(root, file);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) return notFound();
  const read = (f: string): Promise<Buffer> => readFileNoFollow(f, { maxBytes: MAX_RENDERER_FILE_BYTES, root });
  try {
    return { status: 200, body: await read(file), type: MIME_TYPES[path.extname(file)] ?? 'application/octet-stream' };
  } catch (err) {
    // A link, a folder or anything else that is not a plain file of the renderer.
    if (!(err instanceof FieldbookError) || err.code !== 'PATH_NOT_FOUND') return notFound();
  }
  try {
    return { status: 200, body: await read(path.join(root, 'index.html')), type: MIME_TYPES['.html'] as string };
  } catch {
    return notFound('The renderer is not built. Run: npm run build:renderer');
  }
}
