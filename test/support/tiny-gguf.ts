/**
 * A tiny but real GGUF language model for tests (no model can be downloaded here): GGUF v3,
 * llama architecture, 2 layers, F32 tensors with seeded random weights, and a GPT-2 style
 * byte-level tokenizer (256 byte tokens + bos/eos/pad, no merges) with a chat template.
 * node-llama-cpp loads it with the same code as a production model; its output is noise,
 * but it streams, stops, honours cancel and time limits.
 */
import fs from 'node:fs';

const N_EMBD = 64;
const N_HEAD = 4;
const N_LAYER = 2;
const N_FF = 128;
const ALIGN = 32;

/** GPT-2's reversible byte → printable character mapping. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let c = 33; c <= 126; c++) bs.push(c);
  for (let c = 161; c <= 172; c++) bs.push(c);
  for (let c = 174; c <= 255; c++) bs.push(c);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const map = new Array<string>(256);
  bs.forEach((b, i) => (map[b] = String.fromCodePoint(cs[i] as number)));
  return map;
}

class Writer {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  buffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

type Meta = { key: string } & (
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'str'; value: string }
  | { type: 'strs'; value: string[] }
  | { type: 'i32s'; value: number[] }
);

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

export function writeTinyGguf(file: string, opts: { seed?: number; name?: string } = {}): void {
  const tokens = [...bytesToUnicode(), '<|bos|>', '<|eos|>', '<|pad|>'];
  const nVocab = tokens.length;
  const meta: Meta[] = [
    { key: 'general.architecture', type: 'str', value: 'llama' },
    { key: 'general.name', type: 'str', value: opts.name ?? 'fieldbook-tiny-test' },
    { key: 'general.file_type', type: 'u32', value: 0 },
    { key: 'general.alignment', type: 'u32', value: ALIGN },
    { key: 'llama.context_length', type: 'u32', value: 4096 },
    { key: 'llama.embedding_length', type: 'u32', value: N_EMBD },
    { key: 'llama.block_count', type: 'u32', value: N_LAYER },
    { key: 'llama.feed_forward_length', type: 'u32', value: N_FF },
    { key: 'llama.attention.head_count', type: 'u32', value: N_HEAD },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: N_HEAD },
    { key: 'llama.attention.layer_norm_rms_epsilon', type: 'f32', value: 1e-5 },
    { key: 'llama.rope.dimension_count', type: 'u32', value: N_EMBD / N_HEAD },
    { key: 'llama.vocab_size', type: 'u32', value: nVocab },
    { key: 'tokenizer.ggml.model', type: 'str', value: 'gpt2' },
    { key: 'tokenizer.ggml.pre', type: 'str', value: 'default' },
    { key: 'tokenizer.ggml.tokens', type: 'strs', value: tokens },
    { key: 'tokenizer.ggml.token_type', type: 'i32s', value: tokens.map((_, i) => (i < 256 ? 1 : 3)) },
    { key: 'tokenizer.ggml.merges', type: 'strs', value: [] },
    { key: 'tokenizer.ggml.bos_token_id', type: 'u32', value: 256 },
    { key: 'tokenizer.ggml.eos_token_id', type: 'u32', value: 257 },
    { key: 'tokenizer.ggml.padding_token_id', type: 'u32', value: 258 },
    { key: 'tokenizer.ggml.add_bos_token', type: 'bool', value: false },
    { key: 'tokenizer.chat_template', type: 'str', value: TINY_CHAT_TEMPLATE },
  ];

  const rand = mulberry32(opts.seed ?? 11);
  const tensors: Array<{ name: string; dims: number[]; data: Float32Array }> = [];
  const random = (name: string, dims: number[]): void => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (rand() * 2 - 1) * 0.08;
    tensors.push({ name, dims, data });
  };
  const ones = (name: string, n: number): void => {
    tensors.push({ name, dims: [n], data: new Float32Array(n).fill(1) });
  };
  random('token_embd.weight', [N_EMBD, nVocab]);
  ones('output_norm.weight', N_EMBD);
  random('output.weight', [N_EMBD, nVocab]);
  // Special tokens never win: their output rows are zero, so generation runs to maxTokens.
  const output = tensors[tensors.length - 1]?.data as Float32Array;
  output.fill(0, 256 * N_EMBD);
  // Nor do bytes outside printable ASCII (and newline): every generated token is a whole
  // character, so text streams from the first token instead of after hundreds of bytes that
  // never form valid UTF-8 (which made streaming, cancel and crash tests depend on CPU speed).
  for (let b = 0; b < 256; b++) {
    if ((b < 0x20 && b !== 0x0a) || b > 0x7e) output.fill(0, b * N_EMBD, (b + 1) * N_EMBD);
  }
  for (let l = 0; l < N_LAYER; l++) {
    ones(`blk.${l}.attn_norm.weight`, N_EMBD);
    random(`blk.${l}.attn_q.weight`, [N_EMBD, N_EMBD]);
    random(`blk.${l}.attn_k.weight`, [N_EMBD, N_EMBD]);
    random(`blk.${l}.attn_v.weight`, [N_EMBD, N_EMBD]);
    random(`blk.${l}.attn_output.weight`, [N_EMBD, N_EMBD]);
    ones(`blk.${l}.ffn_norm.weight`, N_EMBD);
    random(`blk.${l}.ffn_gate.weight`, [N_EMBD, N_FF]);
    random(`blk.${l}.ffn_up.weight`, [N_EMBD, N_FF]);
    random(`blk.${l}.ffn_down.weight`, [N_FF, N_EMBD]);
  }

  const w = new Writer();
  w.push(Buffer.from('GGUF', 'ascii'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const m of meta) {
    w.str(m.key);
    switch (m.type) {
      case 'u32':
        w.u32(T.UINT32);
        w.u32(m.value);
        break;
      case 'f32':
        w.u32(T.FLOAT32);
        w.f32(m.value);
        break;
      case 'bool':
        w.u32(T.BOOL);
        w.push(Buffer.from([m.value ? 1 : 0]));
        break;
      case 'str':
        w.u32(T.STRING);
        w.str(m.value);
        break;
      case 'strs':
        w.u32(T.ARRAY);
        w.u32(T.STRING);
        w.u64(m.value.length);
        for (const s of m.value) w.str(s);
        break;
      case 'i32s':
        w.u32(T.ARRAY);
        w.u32(T.INT32);
        w.u64(m.value.length);
        for (const v of m.value) w.i32(v);
        break;
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(offset);
    offset += Math.ceil(t.data.byteLength / ALIGN) * ALIGN;
  }
  tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offsets[i] as number);
  });
  const pad = Math.ceil(w.length / ALIGN) * ALIGN - w.length;
  w.push(Buffer.alloc(pad));
  for (const t of tensors) {
    const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    w.push(b);
    w.push(Buffer.alloc(Math.ceil(b.length / ALIGN) * ALIGN - b.length));
  }
  fs.writeFileSync(file, w.buffer());
}
