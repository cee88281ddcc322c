"""llama.cpp on the same GGUF file: the yardstick for CPU generation (issue 17).

llama-cpp-python is optional, never a dependency: `available()` says whether it can be
imported. Its Python API samples one sequence at a time, so n candidates are generated one
after another, each with our sampling settings (temperature 0.7, top-p 0.95, no top-k, no
min-p) and exactly `tokens` new tokens (the end token is not waited for), like our fixed
runs. The prompt's cache is reused between candidates and runs, as llama.cpp does by
itself, so after the warm-up a run costs generation only.

The prompt is evaluated one token a batch: the wheel built from source on this workplace's
Sapphire Rapids (AMX, GGML_NATIVE) crashed evaluating a batch of prompt tokens (segfault
in llama_decode). With the prompt cached, timed runs do not depend on it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

TEMPERATURE, TOP_P = 0.7, 0.95


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def version() -> str:
    import llama_cpp  # noqa: PLC0415 - optional

    return llama_cpp.__version__


class Peer:
    """One llama.cpp model, `threads` threads for prompt and generation alike."""

    def __init__(
        self, gguf: Path, threads: int, context: int = 2048, seed: int = 0, batch: int = 1
    ) -> None:
        from llama_cpp import Llama  # noqa: PLC0415 - optional

        self.llm = Llama(
            model_path=str(gguf),
            n_ctx=context,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=batch,
            n_ubatch=batch,
            seed=seed,
            verbose=False,
        )

    def run(self, prompt: str, n: int, tokens: int) -> int:
        """n candidates of exactly `tokens` new tokens, one after another; tokens made."""
        ids = self.llm.tokenize(prompt.encode(), add_bos=False, special=True)
        for _ in range(n):
            stream = self.llm.generate(
                ids, top_k=0, top_p=TOP_P, min_p=0.0, temp=TEMPERATURE, reset=True
            )
            for made, _token in enumerate(stream, 1):
                if made == tokens:
                    break
        return n * tokens
