"""Where one engine batch's model time goes (issue 17): the model thread's `sample_many` for R
requests of 4 candidates each (the requests `diagrammer bench engine` sends), split into its
parts, median of several calls:

- read: the request readers and the answer's start (`spec_of`, `answer_start`), host Python;
- prompt: the chat template;
- tokenise, prefill, decode (with the steps run and the rows' own token counts: a batch
  decodes until its longest row ends), texts (detokenise; beside it, a decode per row as
  fast.texts did before, for comparison in the same run).

    python scripts/device/profile_batch.py --model /root/m/smollm2.gguf --adapter v1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from diagrammer.commands.bench_engine import DESCRIPTIONS
from engine.llm import fast, prompt
from engine.llm.load import load
from engine.llm.sampling import DEFAULT
from engine.pipeline import answer_start, check, spec_of


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def one_batch(lm, descriptions: list[str], n: int, max_new: int) -> dict[str, float]:
    """sample_many's parts, timed one by one (same work, same order)."""
    t0 = time.perf_counter()
    texts = [check(d) for d in descriptions]
    specs = [spec_of(t) for t in texts]
    starts = [answer_start(s) for s in specs]
    t1 = time.perf_counter()
    prompts = [prompt.build(lm.tokenizer, t, s) for t, s in zip(texts, specs, strict=True)]
    asked = [p + a for p, a in zip(prompts, starts, strict=True)]
    t2 = time.perf_counter()
    lm.tokenizer(asked, return_tensors="pt", padding=True, add_special_tokens=False)
    t3 = time.perf_counter()  # decode tokenises again: its own figure includes it
    decoded = fast.decode(
        lm, asked, n, temperature=DEFAULT.temperature, top_p=DEFAULT.top_p, max_new_tokens=max_new
    )
    sync()
    t4 = time.perf_counter()
    gens = fast.texts(lm.tokenizer, decoded, t4 - t3)
    t5 = time.perf_counter()
    for row in decoded.ids.tolist():  # the decode per row fast.texts did before f2b1880
        lm.tokenizer.decode(row, skip_special_tokens=True)
    t6 = time.perf_counter()
    tokens = [g.tokens for g in gens]
    return {
        "read_ms": (t1 - t0) * 1000,
        "prompt_ms": (t2 - t1) * 1000,
        "tokenise_ms": (t3 - t2) * 1000,
        "prefill_ms": decoded.prefill_s * 1000,
        "decode_ms": decoded.decode_s * 1000,
        "decode_call_ms": (t4 - t3) * 1000,
        "texts_ms": (t5 - t4) * 1000,
        "texts_per_row_ms": (t6 - t5) * 1000,
        "total_ms": (t5 - t0) * 1000,
        "steps": decoded.steps,
        "tokens_mean": statistics.mean(tokens),
        "tokens_max": max(tokens),
        "unfinished": sum(not g.finished for g in gens),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--requests", default="8,16")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--max-new", default=str(DEFAULT.max_new_tokens))
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lm = load(args.model, adapter=args.adapter, device=args.device)
    rows: list[dict] = []
    k = 0
    for max_new in map(int, args.max_new.split(",")):
        for r in map(int, args.requests.split(",")):
            got = []
            for call in range(args.calls + 1):
                batch = [f"{DESCRIPTIONS[j % len(DESCRIPTIONS)]} (#{j})" for j in range(k, k + r)]
                k += r
                parts = one_batch(lm, batch, args.candidates, max_new)
                if call:  # the first call warms graphs and caches
                    got.append(parts)
            row = {"requests": r, "max_new": max_new}
            row |= {key: round(statistics.median(g[key] for g in got), 2) for key in got[0]}
            row["steps_max"] = max(g["steps"] for g in got)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
