/**
 * An exact scan of int8 vectors in memory with a WebAssembly SIMD kernel: the squared L2
 * distance of a query to every stored vector, then the k nearest. It returns the same order as
 * sqlite-vec's int8 `vec0` scan (the same integer distances), several times faster: sqlite-vec
 * computes int8 distances one byte at a time and picks each stored chunk's top k by repeated
 * scans. `vectors.ts` keeps one per database as a cache of its int8 index.
 *
 * The kernel is a few dozen bytes of hand-assembled WebAssembly (no toolchain needed):
 * `dots(q, base, n, out, stride)` writes out[i] = Σ q[j]·row_i[j] over `stride` bytes per row,
 * 16 at a time (i16x8.extmul of the signed bytes, i32x4.extadd_pairwise, i32x4.add).
 */

const leb = (value: number): number[] => {
  const out: number[] = [];
  let n = value >>> 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};

const sleb = (value: number): number[] => {
  const out: number[] = [];
  let n = value | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};

function kernelBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];
  const name = (s: string): number[] => [...leb(s.length), ...Array.from(Buffer.from(s))];
  const simd = (op: number): number[] => [0xfd, ...leb(op)];
  const get = (x: number): number[] => [0x20, x];
  const set = (x: number): number[] => [0x21, x];
  const tee = (x: number): number[] => [0x22, x];
  const i32 = (v: number): number[] => [0x41, ...sleb(v)];
  const I32_ADD = 0x6a;
  // params 0 q, 1 base, 2 n, 3 out, 4 stride; locals 5 i, 6 p, 7 j (i32); 8 acc, 9 a, 10 b (v128)
  const [Q, BASE, N, OUT, STRIDE, I, P, J, ACC, A, B] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const lane = (l: number): number[] => [...get(ACC), ...simd(27), l]; // i32x4.extract_lane
  // prettier-ignore
  const body = [
    ...get(BASE),
    ...set(P),
    0x02, 0x40, // block
    0x03, 0x40, // loop: one row
    ...get(I),
    ...get(N),
    0x4f, // i32.ge_u
    0x0d, 1, // br_if out of the block
    ...simd(12),
    ...new Array<number>(16).fill(0), // v128.const 0
    ...set(ACC),
    ...i32(0),
    ...set(J),
    0x03, 0x40, // loop: 16 bytes
    ...get(P),
    ...get(J),
    I32_ADD,
    ...simd(0), 0, 0, // v128.load
    ...set(A),
    ...get(Q),
    ...get(J),
    I32_ADD,
    ...simd(0), 0, 0,
    ...set(B),
    ...get(ACC),
    ...get(A),
    ...get(B),
    ...simd(156), // i16x8.extmul_low_i8x16_s
    ...simd(126), // i32x4.extadd_pairwise_i16x8_s
    ...simd(174), // i32x4.add
    ...get(A),
    ...get(B),
    ...simd(157), // i16x8.extmul_high_i8x16_s
    ...simd(126),
    ...simd(174),
    ...set(ACC),
    ...get(J),
    ...i32(16),
    I32_ADD,
    ...tee(J),
    ...get(STRIDE),
    0x49, // i32.lt_u
    0x0d, 0, // br_if the inner loop
    0x0b,
    ...get(OUT),
    ...get(I),
    ...i32(2),
    0x74, // i32.shl
    I32_ADD,
    ...lane(0),
    ...lane(1),
    I32_ADD,
    ...lane(2),
    I32_ADD,
    ...lane(3),
    I32_ADD,
    0x36, 2, 0, // i32.store
    ...get(P),
    ...get(STRIDE),
    I32_ADD,
    ...set(P),
    ...get(I),
    ...i32(1),
    I32_ADD,
    ...set(I),
    0x0c, 0, // br the row loop
    0x0b,
    0x0b,
    0x0b,
  ];
  const func = [2, 3, 0x7f, 3, 0x7b, ...body]; // locals: 3 × i32, 3 × v128
  // prettier-ignore
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...name('e'), ...name('m'), 2, 0, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('dots'), 0, 0]),
    ...section(10, [1, ...leb(func.length), ...func]),
  ]);
}

let kernelModule: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is not available. */
function kernel(): WebAssembly.Module | null {
  if (kernelModule !== undefined) return kernelModule;
  try {
    const bytes = kernelBytes();
    kernelModule = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    kernelModule = null;
  }
  return kernelModule;
}

const PAGE = 65536;

/** int8 vectors of one dimension in WebAssembly memory, with their ids; exact nearest by L2. */
export class Int8Matrix {
  readonly stride: number;
  private memory: WebAssembly.Memory;
  private dots: (q: number, base: number, n: number, out: number, stride: number) => void;
  private ids: Float64Array;
  private norms: Int32Array;
  private count = 0;
  private removed = 0;

  private constructor(
    module: WebAssembly.Module,
    readonly dim: number,
    capacity: number,
  ) {
    this.stride = Math.ceil(dim / 16) * 16;
    this.memory = new WebAssembly.Memory({ initial: 1 });
    const instance = new WebAssembly.Instance(module, { e: { m: this.memory } });
    this.dots = instance.exports.dots as Int8Matrix['dots'];
    this.ids = new Float64Array(Math.max(16, capacity));
    this.norms = new Int32Array(Math.max(16, capacity));
    this.reserve(Math.max(16, capacity));
  }

  /** A matrix for `dim`-dimensional vectors, or null without WebAssembly SIMD. */
  static create(dim: number, capacity = 0): Int8Matrix | null {
    const module = kernel();
    return module && dim > 0 ? new Int8Matrix(module, dim, capacity) : null;
  }

  get size(): number {
    return this.count;
  }

  /** Rows removed (still scanned, never returned) since the matrix was built. */
  get dead(): number {
    return this.removed;
  }

  /** Remove the rows of these ids (they stay in memory, marked, until the matrix is built again). */
  remove(ids: ReadonlySet<number>): void {
    if (ids.size === 0) return;
    for (let r = 0; r < this.count; r++) {
      if (ids.has(this.ids[r] as number)) {
        this.ids[r] = -1;
        this.removed++;
      }
    }
  }

  /** Bytes of memory held. */
  get bytes(): number {
    return this.memory.buffer.byteLength + this.ids.byteLength + this.norms.byteLength;
  }

  /** Layout: query (stride bytes), scores (4 × capacity), rows (stride × capacity). */
  private rowsOffset(capacity: number): number {
    return this.stride + 4 * capacity;
  }

  private reserve(capacity: number): void {
    const need = this.rowsOffset(capacity) + this.stride * capacity;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
  }

  private capacity(): number {
    return this.ids.length;
  }

  /** Add one vector: `dim` int8 codes (a Buffer's bytes are read as signed). */
  add(id: number, codes: Uint8Array | Int8Array): void {
    if (this.count === this.capacity()) this.resize(this.capacity() * 2);
    const row = new Int8Array(
      this.memory.buffer,
      this.rowsOffset(this.capacity()) + this.count * this.stride,
      this.stride,
    );
    row.fill(0);
    row.set(new Int8Array(codes.buffer, codes.byteOffset, this.dim));
    let norm = 0;
    for (let i = 0; i < this.dim; i++) norm += (row[i] as number) * (row[i] as number);
    this.ids[this.count] = id;
    this.norms[this.count] = norm;
    this.count++;
  }

  private resize(capacity: number): void {
    const oldCapacity = this.capacity();
    const oldRows = this.rowsOffset(oldCapacity);
    this.reserve(capacity);
    // Rows move up as the score area grows (copyWithin handles the overlap).
    const bytes = new Uint8Array(this.memory.buffer);
    bytes.copyWithin(this.rowsOffset(capacity), oldRows, oldRows + this.count * this.stride);
    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.count));
    const norms = new Int32Array(capacity);
    norms.set(this.norms.subarray(0, this.count));
    this.ids = ids;
    this.norms = norms;
  }

  /**
   * The `k` nearest ids by squared L2 distance (ties: the earlier added first), nearest first.
   * `accept` may leave ids out.
   */
  nearest(query: Uint8Array | Int8Array, k: number, accept?: (id: number) => boolean): number[] {
    if (k <= 0 || this.count === 0) return [];
    const capacity = this.capacity();
    const q = new Int8Array(this.memory.buffer, 0, this.stride);
    q.fill(0);
    q.set(new Int8Array(query.buffer, query.byteOffset, this.dim));
    this.dots(0, this.rowsOffset(capacity), this.count, this.stride, this.stride);
    const dots = new Int32Array(this.memory.buffer, this.stride, this.count);
    // A max-heap of the best k (distance, then position): the root is the worst kept.
    const heapD = new Float64Array(k);
    const heapI = new Int32Array(k);
    let size = 0;
    const worse = (a: number, b: number): boolean =>
      (heapD[a] as number) > (heapD[b] as number) ||
      ((heapD[a] as number) === (heapD[b] as number) && (heapI[a] as number) > (heapI[b] as number));
    const swap = (a: number, b: number): void => {
      const d = heapD[a] as number;
      heapD[a] = heapD[b] as number;
      heapD[b] = d;
      const i = heapI[a] as number;
      heapI[a] = heapI[b] as number;
      heapI[b] = i;
    };
    for (let r = 0; r < this.count; r++) {
      const d = (this.norms[r] as number) - 2 * (dots[r] as number);
      if (size === k && d >= (heapD[0] as number)) continue;
      const id = this.ids[r] as number;
      if (id < 0 || (accept && !accept(id))) continue;
      if (size < k) {
        let c = size++;
        heapD[c] = d;
        heapI[c] = r;
        while (c > 0) {
          const parent = (c - 1) >> 1;
          if (!worse(c, parent)) break;
          swap(c, parent);
          c = parent;
        }
      } else {
        heapD[0] = d;
        heapI[0] = r;
        let c = 0;
        for (;;) {
          const l = 2 * c + 1;
          const rr = l + 1;
          let m = c;
          if (l < size && worse(l, m)) m = l;
          if (rr < size && worse(rr, m)) m = rr;
          if (m === c) break;
          swap(c, m);
          c = m;
        }
      }
    }
    const order = Array.from({ length: size }, (_, i) => i).sort(
      (a, b) => (heapD[a] as number) - (heapD[b] as number) || (heapI[a] as number) - (heapI[b] as number),
    );
    return order.map((i) => this.ids[heapI[i] as number] as number);
  }
}
