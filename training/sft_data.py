"""SFT data: synthetic request -> sketch rows, and the token ids a trainer learns from.

A row is {"description", "sketch", "hint"?} (JSON lines). Two things that went wrong in the
original project are fixed here, where they are visible:
- completion-only loss: the prompt's labels are IGNORE, the sketch's are its tokens;
- the end token stays in the labels (and padding uses a different token), so the model
  learns where its answer ends.

Standard library and the engine's prompt only: making data needs no torch, TRL or GPU.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing import Pool
from pathlib import Path

from engine.diagram.model import Spec
from engine.diagram.spec import extract_spec
from engine.llm import prompt as prompts
from training.data import synth

IGNORE = -100


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def _data_chunk(job: tuple[int, int] | tuple[int, int, int]) -> list[str]:
    """One worker's share of `make_data`: n examples of one seed, with their hints.

    The hint is the pipeline's: the spec extractor's reading, else (v2) the catalogue entry
    the request names (engine/pipeline.py spec_of), as the prompt carries it when served."""
    n, seed, version = (*job, 1) if len(job) == 2 else job
    lines = []
    for e in synth.examples(n, seed, version):
        row = e.as_json()
        row = {k: row[k] for k in ("description", "sketch", "spec", "kind", "template")}
        hint = extract_spec(e.description)
        if hint is None and version > 1:
            # Deferred: engine.pipeline loads transformers (seconds), which making data needs not.
            from engine.pipeline import named_spec  # noqa: PLC0415

            hint = named_spec(e.description)
        row["hint"] = None if hint is None else asdict(hint)
        lines.append(json.dumps(row) + "\n")
    return lines


def make_data(path: Path, n: int, seed: int, chunks: int = 16, version: int = 1) -> Path:
    """n synthetic examples (training/data/synth.py) in `chunks` seeded parts, made in
    parallel: part k uses seed `seed * 1000 + k`, so the file depends on (n, seed, chunks)
    alone, not on the machine. Each row carries the extractor's hint (see build_examples)."""
    sizes = [n // chunks + (k < n % chunks) for k in range(chunks)]
    jobs = [(size, seed * 1000 + k, version) for k, size in enumerate(sizes)]
    with Pool(min(chunks, os.cpu_count() or 1)) as pool:
        parts = pool.map(_data_chunk, jobs)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for part in parts:
            f.writelines(part)
    return Path(path)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def encode(
    tokenizer: object, description: str, sketch: str, spec: Spec | None, max_len: int
) -> Example:
    """Prompt tokens masked out of the loss; sketch tokens and the end token kept."""
    head = tokenizer(prompts.build(tokenizer, description, spec), add_special_tokens=False)
    tail = tokenizer(prompts.answer(tokenizer, sketch), add_special_tokens=False)
    ids = (head["input_ids"] + tail["input_ids"])[:max_len]
    labels = ([IGNORE] * len(head["input_ids"]) + tail["input_ids"])[:max_len]
    return Example(ids, labels)


def build_examples(
    rows: list[dict],
    tokenizer: object,
    spec_of: Callable[[str], Spec | None],
    hint_dropout: float,
    max_len: int,
    seed: int,
) -> list[Example]:
    """Examples whose hint is what the extractor finds at serving time (dropped at random).

    A row may carry that hint already (key "hint": {kind, layers, steps} or null), computed
    where the data was made, which spares the GPU machine the extraction.
    """
    rng = random.Random(seed)
    out = []
    for row in rows:
        keep = rng.random() >= hint_dropout
        if not keep:
            spec = None
        elif "hint" in row:
            spec = _spec(row["hint"])
        else:
            spec = spec_of(row["description"])
        out.append(encode(tokenizer, row["description"], row["sketch"], spec, max_len))
    return out


def _spec(raw: dict | None) -> Spec | None:
    if not raw:
        return None
    return Spec(raw["kind"], tuple(raw.get("layers") or ()), tuple(raw.get("steps") or ()))
