/** Character error rate: edit distance / reference length, on whitespace-normalised text. */
export function characterErrorRate(hypothesis: string, reference: string): number {
  const norm = (s: string): string[] => Array.from(s.replace(/\s+/g, ' ').trim());
  const h = norm(hypothesis);
  const r = norm(reference);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (r[i - 1] === h[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return r.length === 0 ? 0 : (prev[h.length] as number) / r.length;
}
