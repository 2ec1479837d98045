import { describe, expect, it } from 'vitest';
import { Int8Matrix } from './int8-scan';

function bruteForce(rows: Int8Array[], q: Int8Array, k: number, accept?: (id: number) => boolean): number[] {
  return rows
    .map((r, i) => ({ id: i + 1, d: r.reduce((acc, v, j) => acc + (v - (q[j] as number)) ** 2, 0), i }))
    .filter((x) => !accept || accept(x.id))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, k)
    .map((x) => x.id);
}

describe('Int8Matrix: the in-memory int8 scan (WebAssembly SIMD)', () => {
  let seed = 5;
  const rand = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const codes = (dim: number): Int8Array => Int8Array.from({ length: dim }, () => Math.round(rand() * 254 - 127));

  it.each([64, 100, 384])('returns the exact L2 order of %i-d vectors, growing as rows are added', (dim) => {
    const matrix = Int8Matrix.create(dim);
    expect(matrix).not.toBeNull();
    const rows = Array.from({ length: 1500 }, () => codes(dim));
    rows.forEach((r, i) => matrix?.add(i + 1, r));
    expect(matrix?.size).toBe(1500);
    for (let q = 0; q < 5; q++) {
      const query = codes(dim);
      expect(matrix?.nearest(query, 25)).toEqual(bruteForce(rows, query, 25));
    }
  });

  it('reads a Buffer as signed bytes, leaves out what `accept` refuses, and handles k beyond the rows', () => {
    const matrix = Int8Matrix.create(16) as Int8Matrix;
    const rows = Array.from({ length: 40 }, () => codes(16));
    rows.forEach((r, i) => matrix.add(i + 1, Buffer.from(r.buffer)));
    const query = codes(16);
    const even = (id: number): boolean => id % 2 === 0;
    expect(matrix.nearest(Buffer.from(query.buffer), 7, even)).toEqual(bruteForce(rows, query, 7, even));
    expect(matrix.nearest(query, 100)).toEqual(bruteForce(rows, query, 100));
    expect(matrix.nearest(query, 0)).toEqual([]);
    matrix.remove(new Set([1, 2, 3]));
    expect(matrix.dead).toBe(3);
    const rest = (id: number): boolean => id > 3;
    expect(matrix.nearest(query, 10)).toEqual(bruteForce(rows, query, 10, rest));
  });
});
