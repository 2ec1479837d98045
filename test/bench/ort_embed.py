"""Bench reference column: chunks/s of Python onnxruntime on a Fieldbook embedding folder's ONNX file.

Reads JSON {"dir", "onnx", "texts", "batch", "prefix"} on stdin; tokenises with the folder's
tokenizer.json (HF tokenizers), runs the same ONNX file in batches, mean-pools and L2-normalises
(what Fieldbook does), and prints {"seconds", "cpuSeconds", "chunks", "dim"}. Dev-only; needs the venv that
`npm run models:fetch` creates (numpy, onnxruntime, tokenizers).
"""

import json
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

req = json.load(sys.stdin)
tok = Tokenizer.from_file(f"{req['dir']}/tokenizer.json")
tok.enable_truncation(512)
tok.enable_padding()
sess = ort.InferenceSession(req["onnx"], providers=["CPUExecutionProvider"])
names = {i.name for i in sess.get_inputs()}
texts = [req["prefix"] + t for t in req["texts"]]
batch = req["batch"]


def run(chunk: list[str]) -> np.ndarray:
    enc = tok.encode_batch(chunk)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        feed["token_type_ids"] = np.zeros_like(ids)
    hidden = sess.run(None, feed)[0]
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


run(texts[:2])  # warm-up, as the Fieldbook side's dimension probe
t0 = time.perf_counter()
c0 = time.process_time()  # CPU seconds of every thread: a fairer figure on a shared machine
dim = 0
for i in range(0, len(texts), batch):
    dim = run(texts[i : i + batch]).shape[1]
seconds = time.perf_counter() - t0
cpu = time.process_time() - c0
print(json.dumps({"seconds": seconds, "cpuSeconds": cpu, "chunks": len(texts), "dim": dim}))
