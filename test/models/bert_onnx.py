"""Write a BERT-family encoder (BERT, MiniLM, XLM-R/E5) as an ONNX graph from numpy weights.

Dev-only (used by fetch.py for evaluation and benchmark models; never by the product). The graph has
the inputs transformers.js and onnxruntime feed a sentence-transformers export (input_ids,
attention_mask, token_type_ids; int64 [batch, sequence]) and one output, last_hidden_state
[batch, sequence, hidden]. Opset 17: LayerNormalization is a single op; GELU is written with Erf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


@dataclass
class Layer:
    q_w: np.ndarray  # [H, H] (out, in) as in PyTorch Linear
    q_b: np.ndarray
    k_w: np.ndarray
    k_b: np.ndarray
    v_w: np.ndarray
    v_b: np.ndarray
    ao_w: np.ndarray
    ao_b: np.ndarray
    aln_w: np.ndarray
    aln_b: np.ndarray
    fi_w: np.ndarray  # [FF, H]
    fi_b: np.ndarray
    fo_w: np.ndarray  # [H, FF]
    fo_b: np.ndarray
    oln_w: np.ndarray
    oln_b: np.ndarray


@dataclass
class Encoder:
    heads: int
    eps: float
    word: np.ndarray  # [V, H]
    pos: np.ndarray  # [P, H], row 0 = first token
    type: np.ndarray  # [T, H]
    eln_w: np.ndarray
    eln_b: np.ndarray
    layers: list[Layer]


def write_onnx(enc: Encoder, path: str) -> None:
    hidden = enc.word.shape[1]
    head_dim = hidden // enc.heads
    inits: list[TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    const("word", f32(enc.word))
    const("pos", f32(enc.pos))
    const("type", f32(enc.type))
    const("zero", np.array(0, dtype=np.int64))
    const("one", np.array(1, dtype=np.int64))
    const("heads_shape", np.array([0, 0, enc.heads, head_dim], dtype=np.int64))
    const("hidden_shape", np.array([0, 0, hidden], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    const("neg", np.array(-1e9, dtype=np.float32))
    const("f_one", np.array(1.0, dtype=np.float32))
    const("half", np.array(0.5, dtype=np.float32))
    const("rsqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    const("mask_axes", np.array([1, 2], dtype=np.int64))

    # Embeddings: word + position + token type, then LayerNorm.
    # Positions 0..L-1 per row, as CumSum(ones) - 1 (ORT mis-optimises Shape→Gather→Range here).
    node("Mul", ["input_ids", "zero"], "ids_zero")
    node("Add", ["ids_zero", "one"], "ids_one")
    node("CumSum", ["ids_one", "one"], "pos_from1")
    node("Sub", ["pos_from1", "one"], "pos_ids")
    node("Gather", ["word", "input_ids"], "emb_word", axis=0)
    node("Gather", ["pos", "pos_ids"], "emb_pos", axis=0)
    node("Gather", ["type", "token_type_ids"], "emb_type", axis=0)
    node("Add", ["emb_word", "emb_pos"], "emb_wp")
    node("Add", ["emb_wp", "emb_type"], "emb_sum")
    x = node(
        "LayerNormalization",
        ["emb_sum", const("eln_w", f32(enc.eln_w)), const("eln_b", f32(enc.eln_b))],
        "emb_out",
        axis=-1,
        epsilon=enc.eps,
    )

    # Additive attention mask [B, 1, 1, L]: 0 where attended, -1e9 on padding.
    node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    node("Sub", ["f_one", "mask_f"], "mask_inv")
    node("Mul", ["mask_inv", "neg"], "mask_add2")
    node("Unsqueeze", ["mask_add2", "mask_axes"], "mask_add")

    def linear(inp: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        mm = node("MatMul", [inp, const(f"{name}_wt", f32(w).T)], f"{name}_mm")
        return node("Add", [mm, const(f"{name}_b", f32(b))], name)

    for i, ly in enumerate(enc.layers):
        p = f"l{i}"

        def heads(t: str, tag: str, perm: list[int]) -> str:
            r = node("Reshape", [t, "heads_shape"], f"{p}_{tag}_r")
            return node("Transpose", [r], f"{p}_{tag}_t", perm=perm)

        q = heads(linear(x, ly.q_w, ly.q_b, f"{p}_q"), "q", [0, 2, 1, 3])
        k = heads(linear(x, ly.k_w, ly.k_b, f"{p}_k"), "k", [0, 2, 3, 1])
        v = heads(linear(x, ly.v_w, ly.v_b, f"{p}_v"), "v", [0, 2, 1, 3])
        s = node("MatMul", [q, k], f"{p}_scores")
        s = node("Mul", [s, "scale"], f"{p}_scaled")
        s = node("Add", [s, "mask_add"], f"{p}_masked")
        a = node("Softmax", [s], f"{p}_probs", axis=-1)
        c = node("MatMul", [a, v], f"{p}_ctx")
        c = node("Transpose", [c], f"{p}_ctx_t", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "hidden_shape"], f"{p}_ctx_r")
        ao = linear(c, ly.ao_w, ly.ao_b, f"{p}_ao")
        res = node("Add", [x, ao], f"{p}_ares")
        x = node(
            "LayerNormalization",
            [res, const(f"{p}_aln_w", f32(ly.aln_w)), const(f"{p}_aln_b", f32(ly.aln_b))],
            f"{p}_aln",
            axis=-1,
            epsilon=enc.eps,
        )
        h = linear(x, ly.fi_w, ly.fi_b, f"{p}_fi")
        g = node("Mul", [h, "rsqrt2"], f"{p}_g1")
        g = node("Erf", [g], f"{p}_g2")
        g = node("Add", [g, "f_one"], f"{p}_g3")
        g = node("Mul", [h, g], f"{p}_g4")
        g = node("Mul", [g, "half"], f"{p}_gelu")
        fo = linear(g, ly.fo_w, ly.fo_b, f"{p}_fo")
        res2 = node("Add", [x, fo], f"{p}_fres")
        x = node(
            "LayerNormalization",
            [res2, const(f"{p}_oln_w", f32(ly.oln_w)), const(f"{p}_oln_b", f32(ly.oln_b))],
            f"{p}_oln" if i < len(enc.layers) - 1 else "last_hidden_state",
            axis=-1,
            epsilon=enc.eps,
        )

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch_size", "sequence_length"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    output = helper.make_tensor_value_info(
        "last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", hidden]
    )
    graph = helper.make_graph(nodes, "encoder", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="fieldbook-fetch")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
