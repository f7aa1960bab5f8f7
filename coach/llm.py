"""The local LLM behind a small interface: llama.cpp through llama-cpp-python, with a JSON-schema grammar."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

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

    def __init__(self, gguf_path: Path, *, n_ctx: int = 4096, threads: int = 2):
        from llama_cpp import Llama

        self._llama = Llama(
            model_path=str(gguf_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
        self._grammars: dict[str, object] = {}
        self._formatter = None
        self._lock = threading.Lock()  # two calls at once into one llama.cpp context crash it: queue them
        self.n_ctx = n_ctx

    def _grammar(self, gbnf: str):
        from llama_cpp import LlamaGrammar

        if gbnf not in self._grammars:
            self._grammars[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]

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
        first: float | None = None
        parts: list[str] = []
        finish = "stop"
        usage_prompt = 0
        # A plain completion over the rendered template (what create_chat_completion does inside), so that the
        # reply can start with a fixed prefix the model does not spend tokens on. llama.cpp keeps the KV cache of
        # the longest common token prefix with the previous call: the system prompt is evaluated once.
        stream = self._llama.create_completion(
            self.prompt(messages) + reply_prefix,
            grammar=self._grammar(grammar),
            max_tokens=max_tokens,
            temperature=0.2,
            top_p=0.9,
            repeat_penalty=1.1,
            stream=True,
        )
        for chunk in stream:
            choice = chunk["choices"][0]
            piece = choice.get("text") or ""
            if piece:
                if first is None:
                    first = time.perf_counter() - t0
                parts.append(piece)
                if on_text:
                    on_text(piece)
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
            if should_stop and should_stop():
                finish = "cancelled"
                break
        text = "".join(parts)
        usage_prompt = self._llama.n_tokens - len(self._llama.tokenize(text.encode("utf-8"), add_bos=False))
        return Generation(
            text=text,
            finish_reason=finish,
            prompt_tokens=max(0, usage_prompt),
            completion_tokens=len(parts),
            first_token_s=first,
            total_s=time.perf_counter() - t0,
        )
