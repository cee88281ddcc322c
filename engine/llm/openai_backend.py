"""Generation by an OpenAI-compatible completions server, for scale beyond one GPU.

A vLLM server (`vllm serve <model folder> --enable-lora --lora-modules v1=models/adapters/v1`)
batches requests from many engines on its own GPUs; this client sends it the prompts we
build and reads back the candidates, behind the same `generate` signature and `Generation`
results as the local paths. We do not serve models ourselves: this is a client only.

One HTTP request carries every prompt of a call with `n` candidates each (the legacy
completions API: `prompt` is a list, choice `index` = prompt * n + candidate), sampling
with the same temperature and top-p, stopping at a blank line, as the local paths do. The
server applies its own logits processing (vLLM's top-p matches ours).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from engine.llm.generate import Generation
from engine.llm.sampling import DEFAULT, SamplingParams
from engine.llm.stopping import BLANK_LINE


class RemoteError(RuntimeError):
    """The server could not be reached or gave an answer we cannot use."""


@dataclass
class RemoteModel:
    """Where the model is served. `tokenizer` is the served model's own (prompts are built
    with its chat template, and token counts come from it); `model` is the served name, or a
    LoRA adapter's name on a server started with --lora-modules."""

    base_url: str  # e.g. http://127.0.0.1:8000/v1
    model: str
    tokenizer: object
    api_key: str | None = None
    timeout: float = 120.0
    adapter: str | None = None

    @property
    def name(self) -> str:
        return self.model


def _post(remote: RemoteModel, path: str, body: dict) -> dict:
    headers = {"Content-Type": "application/json"}
    if remote.api_key:
        headers["Authorization"] = f"Bearer {remote.api_key}"
    request = urllib.request.Request(
        remote.base_url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=remote.timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        detail = e.read()[:200].decode(errors="replace")
        raise RemoteError(f"{remote.base_url} answered {e.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as e:
        raise RemoteError(f"{remote.base_url} failed: {e}") from None


def _generation(remote: RemoteModel, choice: dict, seconds: float) -> Generation:
    """A choice as the local paths report it; tokens counted with the model's tokenizer (plus
    the end token or stop string the server cut off, when it stopped by itself)."""
    text = str(choice.get("text", ""))
    finished = choice.get("finish_reason") == "stop"
    head, found, _ = text.partition(BLANK_LINE)  # a server that ignores `stop`
    if found:
        text, finished = head, True
    ids = remote.tokenizer(text, add_special_tokens=False)["input_ids"]
    return Generation(
        text=text.strip(), tokens=len(ids) + int(finished), finished=finished, seconds=seconds
    )


def generate(
    remote: RemoteModel,
    prompts: list[str],
    n: int = 4,
    sampling: SamplingParams = DEFAULT,
) -> list[list[Generation]]:
    """n sampled candidates for each prompt, from the server (one request for the call)."""
    if not prompts:
        return []
    if n < 1 or sampling.max_new_tokens < 1:
        raise ValueError("n and max_new_tokens must be at least 1")
    body = {
        "model": remote.model,
        "prompt": prompts,
        "n": n,
        "max_tokens": sampling.max_new_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "stop": [BLANK_LINE],
    }
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    start = time.perf_counter()
    answer = _post(remote, "/completions", body)
    seconds = time.perf_counter() - start
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or len(choices) != len(prompts) * n:
        got = len(choices) if isinstance(choices, list) else "no"
        raise RemoteError(f"asked for {len(prompts) * n} choices, got {got}")
    try:
        ordered = sorted(choices, key=lambda c: int(c["index"]))
    except (KeyError, TypeError, ValueError):
        raise RemoteError("a choice without a numeric index") from None
    if [int(c["index"]) for c in ordered] != list(range(len(choices))):
        raise RemoteError("choice indexes are not 0..N-1")
    gens = [_generation(remote, c, seconds) for c in ordered]
    return [gens[i * n : (i + 1) * n] for i in range(len(prompts))]
