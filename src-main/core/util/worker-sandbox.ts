/**
 * What a worker process started with child_process.fork may do, narrowed with Node's permission
 * model where this Node supports it: read only the application's own folder (code, node_modules,
 * pdf.js fonts, OCR language data), write only a private scratch folder, no child processes; worker threads and
 * native addons are allowed only when the worker needs them (tesseract.js runs in worker threads;
 * sharp and @napi-rs/canvas are addons — and an addon is native code the permission model cannot
 * restrict). The environment is scrubbed to a few harmless variables. The permission model has
 * no network switch: a worker could still open sockets.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface SandboxNeeds {
  /** Folders the worker may read (each with everything below it). */
  readRoots: string[];
  /** Folders it may write (its private scratch folder). */
  writeRoots: string[];
  workerThreads: boolean;
  addons: boolean;
}

/** The flag that turns the permission model on: `--permission` (Node ≥ 22.13), `--experimental-permission` (Node 20), or none. */
export function permissionFlag(flags: ReadonlySet<string> = process.allowedNodeEnvironmentFlags): string | null {
  if (flags.has('--permission')) return '--permission';
  if (flags.has('--experimental-permission')) return '--experimental-permission';
  return null;
}

/** Node options for a sandboxed worker, or [] where the permission model is not available. */
export function permissionArgs(needs: SandboxNeeds, flag = permissionFlag()): string[] {
  if (!flag) return [];
  const args = [flag, ...needs.readRoots.map((root) => `--allow-fs-read=${path.resolve(root)}${path.sep}`)];
  for (const root of needs.writeRoots) args.push(`--allow-fs-write=${path.resolve(root)}${path.sep}`);
  if (needs.workerThreads) args.push('--allow-worker');
  if (needs.addons) args.push('--allow-addons');
  // No --allow-child-process, no --allow-wasi; writes only below writeRoots.
  return args;
}

/** Environment variables a worker keeps: locale, time zone and what Windows needs to load DLLs. */
const KEPT_ENV = ['LANG', 'LC_ALL', 'TZ', 'SystemRoot', 'SYSTEMROOT', 'windir', 'TEMP', 'TMP'];

/** The parent's environment without secrets, proxies, tokens or NODE_OPTIONS. */
export function scrubbedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const name of KEPT_ENV) if (env[name] !== undefined) kept[name] = env[name];
  return kept;
}

interface EsbuildLike {
  buildSync(opts: Record<string, unknown>): { outputFiles?: Array<{ text: string }> };
}

const bundles = new Map<string, string | null>();

/** Drop earlier builds of the same entry (older than an hour: a process started from one has read it long ago). */
function pruneOldBundles(dir: string, keep: string): void {
  const prefix = keep.replace(/-[0-9a-f]+\.mjs$/, '-');
  const cutoff = Date.now() - 3_600_000;
  for (const name of fs.readdirSync(dir)) {
    if (name === keep || !name.startsWith(prefix) || !name.endsWith('.mjs')) continue;
    const file = path.join(dir, name);
    if (fs.statSync(file).mtimeMs < cutoff) fs.rmSync(file, { force: true });
  }
}

/**
 * A worker entry written in TypeScript, bundled (our code only; packages stay imports) into one
 * .mjs under `<appRoot>/node_modules/.cache/fieldbook/`, so it runs on plain Node: the tsx loader
 * starts esbuild as a child process, which a sandboxed worker may not do. The file name carries
 * the content hash, so concurrent runs and edits never use a stale bundle. Returns null when the
 * bundle cannot be built or written (then the caller runs the .ts through tsx, unsandboxed).
 */
export function bundledEntry(entryTs: string, root: string): string | null {
  const cached = bundles.get(entryTs);
  // Built before, unless another run pruned it meanwhile (then it is written again).
  if (cached === null || (cached !== undefined && fs.existsSync(cached))) return cached;
  let result: string | null = null;
  try {
    // esbuild comes with tsx (a dependency), which uses it for the same job.
    const esbuild = createRequire(import.meta.url)('esbuild') as EsbuildLike;
    const out = esbuild.buildSync({
      entryPoints: [entryTs],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    const text = out.outputFiles?.[0]?.text;
    if (text) {
      const dir = path.join(root, 'node_modules', '.cache', 'fieldbook');
      const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
      const file = path.join(dir, `${path.basename(entryTs, path.extname(entryTs))}-${hash}.mjs`);
      if (!fs.existsSync(file)) {
        fs.mkdirSync(dir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, text);
        fs.renameSync(tmp, file);
        pruneOldBundles(dir, path.basename(file));
      }
      result = file;
    }
  } catch {
    result = null;
  }
  bundles.set(entryTs, result);
  return result;
}
