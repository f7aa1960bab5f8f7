"""The local LLM behind a small interface: llama.cpp through llama-cpp-python, with a JSON-schema grammar."""

from __future__ import annotations

import codecs
import ctypes
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from coach.config import default

try:
    import llama_cpp
except ImportError:  # the fakes in the unit tests need none of it
    llama_cpp = None

log = logging.getLogger("coach.llm")

Message = dict  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    completion_tokens: int
    first_token_s: float | None  # wall seconds from the call to the first generated text
    total_s: float


class ChatModel(Protocol):
    def chat(
        self,
        messages: Sequence[Message],
        *,
        grammar: str,
        max_tokens: int,
        reply_prefix: str = "",
        on_text: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Generation:
        """The assistant's reply to `messages`, constrained by the GBNF `grammar`. The reply starts with
        `reply_prefix`, which is put into the prompt instead of being generated (the grammar covers only what
        follows it); the returned text and `on_text` pieces exclude it."""

    def count_tokens(self, text: str) -> int: ...


class LlamaChatModel:
    """One llama.cpp context. Never call it from two threads at once: the LLM worker thread owns it."""

    def __init__(self, gguf_path: Path, *, n_ctx: int = default("llm_context"), threads: int = 2,
                 threads_now: Callable[[], int] | None = None):
        """`threads_now`, if given, picks the threads before each call (fewer while the machine is busy)."""
        from llama_cpp import Llama

        self._llama = Llama(
            model_path=str(gguf_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
        self._formatter = None
        self._lock = threading.Lock()  # two calls at once into one llama.cpp context crash it: queue them
        self.n_ctx = n_ctx
        self.threads, self._threads_now = threads, threads_now

    def _adapt_threads(self) -> None:
        if self._threads_now is None:
            return
        n = self._threads_now()
        if n != self.threads:
            self._llama._ctx.set_n_threads(n, n)
            self.threads = n

    def warm(self, messages: Sequence[Message]) -> None:
        """Evaluates `messages` (the fixed start of every prompt) now: the first hint then reads only what is new."""
        with self._lock:
            self._eval_prompt(self._llama.tokenize(self.prompt(messages).encode("utf-8"), special=True))

    def prompt(self, messages: Sequence[Message]) -> str:
        """The model's own chat template, ending where the assistant's reply begins."""
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = self._llama.metadata.get("tokenizer.chat_template")
            if not template:
                raise ValueError("the model file has no chat template")
            vocab = self._llama._model
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=vocab.token_get_text(self._llama.token_eos()),
                bos_token=vocab.token_get_text(self._llama.token_bos()),
            )
        return self._formatter(messages=list(messages)).prompt

    def count_tokens(self, text: str) -> int:  # tokenizing is thread-safe: it does not touch the context
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def chat(self, messages, *, grammar, max_tokens, reply_prefix="", on_text=None, should_stop=None) -> Generation:
        with self._lock:
            return self._chat(messages, grammar, max_tokens, reply_prefix, on_text, should_stop)

    def _chat(self, messages, grammar, max_tokens, reply_prefix, on_text, should_stop) -> Generation:
        t0 = time.perf_counter()
        self._adapt_threads()
        llama = self._llama
        tokens = llama.tokenize((self.prompt(messages) + reply_prefix).encode("utf-8"), special=True)
        self._eval_prompt(tokens)
        sampler = GrammarSampler(llama, grammar)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parts: list[str] = []
        generated: list[int] = []
        first: float | None = None
        finish = "length"
        try:
            for _ in range(max_tokens):
                if should_stop and should_stop():
                    finish = "cancelled"
                    break
                token = sampler.sample(self._logits(), generated)
                if llama_cpp.llama_vocab_is_eog(sampler.vocab, token):
                    finish = "stop"
                    break
                generated.append(token)
                piece = decoder.decode(llama.detokenize([token]))
                if piece:
                    if first is None:
                        first = time.perf_counter() - t0
                    parts.append(piece)
                    if on_text:
                        on_text(piece)
                if llama.n_tokens + 1 >= self.n_ctx:
                    break
                llama.eval([token])
        finally:
            sampler.close()
        return Generation(
            text="".join(parts),
            finish_reason=finish,
            prompt_tokens=len(tokens),
            completion_tokens=len(generated),
            first_token_s=first,
            total_s=time.perf_counter() - t0,
        )

    def _eval_prompt(self, tokens: list[int]) -> None:
        """Evaluate only what is new since the last call: llama.cpp keeps the KV cache of the common prefix (the
        system prompt and the conversation so far). One token is always evaluated, for fresh logits."""
        llama = self._llama
        cached = llama.input_ids[: llama.n_tokens].tolist()
        keep = 0
        for a, b in zip(cached, tokens):
            if a != b:
                break
            keep += 1
        keep = min(keep, len(tokens) - 1)
        if keep <= 0 or not llama._ctx.kv_cache_seq_rm(-1, keep, -1):
            llama.reset()
            keep = 0
        llama.n_tokens = keep
        llama.eval(tokens[keep:])

    def _logits(self):
        ptr = llama_cpp.llama_get_logits_ith(self._llama._ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._llama.n_vocab(),))


_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])  # llama_token_data


class GrammarSampler:
    """Samples under a GBNF grammar, checking only the model's top candidates against it.

    llama-cpp-python runs the grammar over the whole vocabulary (49k tokens for SmolLM2) before every token, which
    made generation about 40% slower here. Like llama.cpp's own samplers, this checks the top candidates first and
    falls back to the whole vocabulary only when none of them fits."""

    TOP_K = 40
    TEMPERATURE = 0.2
    TOP_P = 0.9
    REPEAT_PENALTY = 1.1
    PENALTY_LAST_N = 64

    def __init__(self, llama, grammar: str, seed: int = 0):
        self.vocab = llama_cpp.llama_model_get_vocab(llama._model.model)
        self._grammar = llama_cpp.llama_sampler_init_grammar(self.vocab, grammar.encode("utf-8"), b"root")
        if not self._grammar:
            raise ValueError("the grammar did not parse")
        self._rng = np.random.default_rng(seed)

    def sample(self, logits, history: list[int]) -> int:
        logits = logits.astype(np.float32, copy=True)
        recent = np.unique(np.asarray(history[-self.PENALTY_LAST_N :], dtype=np.int64))
        if len(recent):
            vals = logits[recent]
            logits[recent] = np.where(vals > 0, vals / self.REPEAT_PENALTY, vals * self.REPEAT_PENALTY)
        top = np.argpartition(-logits, self.TOP_K)[: self.TOP_K]
        ids, allowed = self._allowed(top, logits[top])
        if not np.isfinite(allowed).any():  # none of the favourites fits: let the grammar pick from everything
            ids, allowed = self._allowed(np.arange(len(logits)), logits)
        token = int(ids[self._choose(allowed)])
        llama_cpp.llama_sampler_accept(self._grammar, token)
        return token

    def _allowed(self, ids, logits):
        data = np.zeros(len(ids), dtype=_TOKEN_DATA)
        data["id"], data["logit"] = ids, logits
        array = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(llama_cpp.llama_token_data)), size=len(ids), selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(array))
        return data["id"].astype(np.int64), data["logit"].astype(np.float64)

    def _choose(self, logits) -> int:
        order = np.argsort(-logits)
        z = logits[order] / self.TEMPERATURE
        z = z[np.isfinite(z)]
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        keep = int(np.searchsorted(np.cumsum(probs), self.TOP_P)) + 1
        probs = probs[:keep] / probs[:keep].sum()
        return int(order[self._rng.choice(keep, p=probs)])

    def close(self) -> None:
        if self._grammar:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None
