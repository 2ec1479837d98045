/**
 * Training-data hygiene: PII redaction (with counts), exact and near-duplicate removal,
 * and a deterministic train/validation/test split by seed.
 */
import { createHash } from 'node:crypto';
import { normalizeForMatch } from '../text/normalize';

export interface RedactionCounts {
  email: number;
  phone: number;
  nationalId: number;
  employeeId: number;
  ip: number;
}

const PATTERNS: Array<{ kind: keyof RedactionCounts; re: RegExp; token: string }> = [
  { kind: 'email', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, token: '[EMAIL]' },
  // Taiwan national ID / resident certificate: a letter, 1/2/8/9, eight digits.
  { kind: 'nationalId', re: /\b[A-Z][1289]\d{8}\b/g, token: '[NATIONAL_ID]' },
  {
    kind: 'employeeId',
    re: /(?:\b(?:EMP|emp|Emp)[-_ ]?\d{3,}\b|(?:工號|員工編號|員編)[:：\s]*[A-Za-z]?\d{3,})/g,
    token: '[EMPLOYEE_ID]',
  },
  {
    kind: 'ip',
    re: /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b/gi,
    token: '[IP]',
  },
  // Phones: +886 / 09xx mobiles / (0x) landlines / generic international.
  {
    kind: 'phone',
    re: /(?:\+?886[-\s]?|\b0)9\d{2}[-\s]?\d{3}[-\s]?\d{3}\b|\(0\d{1,2}\)\s?\d{3,4}[-\s]?\d{4}\b|\b0\d{1,2}-\d{3,4}-\d{4}\b|\+\d{1,3}[-\s]\d{1,4}[-\s]\d{3,4}[-\s]\d{3,4}\b/g,
    token: '[PHONE]',
  },
];

export function emptyCounts(): RedactionCounts {
  return { email: 0, phone: 0, nationalId: 0, employeeId: 0, ip: 0 };
}

export function redactPii(text: string, counts: RedactionCounts = emptyCounts()): string {
  let out = text;
  for (const p of PATTERNS) {
    out = out.replace(p.re, () => {
      counts[p.kind]++;
      return p.token;
    });
  }
  return out;
}

function shingles(text: string): Set<string> {
  const t = normalizeForMatch(text).replace(/\s+/g, ' ');
  const out = new Set<string>();
  for (let i = 0; i + 3 <= t.length; i++) out.add(t.slice(i, i + 3));
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / Math.max(1, a.size + b.size - inter);
}

/** Drop exact duplicates (after normalisation) and near-duplicates (3-gram Jaccard ≥ threshold). */
export function dedupe<T>(
  items: T[],
  key: (t: T) => string,
  threshold = 0.9,
): { kept: T[]; exact: number; near: number } {
  const seen = new Set<string>();
  const keptShingles: Array<Set<string>> = [];
  const kept: T[] = [];
  let exact = 0;
  let near = 0;
  for (const item of items) {
    const k = key(item);
    const h = createHash('sha256').update(normalizeForMatch(k).replace(/\s+/g, ' ').trim()).digest('hex');
    if (seen.has(h)) {
      exact++;
      continue;
    }
    const sh = shingles(k);
    if (keptShingles.some((other) => jaccard(sh, other) >= threshold)) {
      near++;
      continue;
    }
    seen.add(h);
    keptShingles.push(sh);
    kept.push(item);
  }
  return { kept, exact, near };
}

export type Split = 'train' | 'validation' | 'test';

/** Deterministic split: the same id and seed always land in the same split. */
export function splitOf(id: string, seed: number, ratios: { train: number; validation: number }): Split {
  const h = createHash('sha256').update(`${seed}:${id}`).digest();
  const x = h.readUInt32BE(0) / 0x100000000;
  if (x < ratios.train) return 'train';
  if (x < ratios.train + ratios.validation) return 'validation';
  return 'test';
}
