"""Sentence embeddings (all-MiniLM-L6-v2 on onnxruntime): the meaning of what the partner said, for the safety
check, choosing the IFS move and measuring how grounded a hint is. Small enough to run on every transcript."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from coach.errors import ModelsMissingError

log = logging.getLogger("coach.embed")

MAX_TOKENS = 128  # the safety check and the move classifier embed sentences and short turns, not pages
DIMENSIONS = 384
# The safety check and then the move plan embed the same turn a moment apart: the vectors of the last few dozen
# texts are kept (in memory only, for the process's life) and not made again.
RECENT_TEXTS = 64


class SentenceEmbedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (cosine similarity is a dot product)."""


class OnnxEmbedder:
    """Thread-safe: onnxruntime sessions may run concurrently, and the tokenizer is guarded."""

    def __init__(self, folder: Path, threads: int = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, vocab = folder / "model.onnx", folder / "tokenizer.json"
        for path in (model, vocab):
            if not path.is_file():
                raise ModelsMissingError(f"embedding model file {path} is missing: run scripts/setup_models.sh")
        self.folder = folder  # where a cache of embeddings made with this model may live (coach/safety.py)
        self.identity = _identity(folder, (model, vocab))
        self._tok = Tokenizer.from_file(str(vocab))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        opts = ort.SessionOptions()
        # One thread: the decision is ~5 ms anyway, and Whisper and llama.cpp need the cores more.
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        with self._lock:
            known = {t: self._recent[t] for t in unique if t in self._recent}
        missing = [t for t in unique if t not in known]
        if missing:
            with self._lock:
                enc = self._tok.encode_batch([t if t.strip() else "." for t in missing])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            (out,) = self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
            fresh = dict(zip(missing, out))
            with self._lock:
                self._recent.update(fresh)
                while len(self._recent) > RECENT_TEXTS:
                    self._recent.popitem(last=False)
            known.update(fresh)
        return np.stack([known[t] for t in texts])

    def forget(self) -> None:
        """Drop the kept vectors (and with them the texts they were made from)."""
        with self._lock:
            self._recent.clear()


def _identity(folder: Path, files: Sequence[Path]) -> str:
    """What makes these vectors these: the checksums the install verified (models/<id>/.installed.json), and each
    file's size and modification time, so that a file replaced after the install counts as another model. Cheap: no
    hashing of the 90 MB graph at every start."""
    try:
        installed = json.loads((folder / ".installed.json").read_text()).get("sha256", {})
    except (OSError, ValueError, AttributeError):
        installed = {}
    if not isinstance(installed, dict):
        installed = {}
    parts = [f"max_tokens={MAX_TOKENS}"]
    for f in files:
        st = f.stat()
        parts.append(f"{f.name}:{installed.get(f.name, '')}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Similarities between unit rows of `a` and of `b`: [len(a), len(b)]."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32).T
