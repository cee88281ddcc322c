"""Milliseconds per decode step of engine/llm/fast.py, by part, and the eager loop against the
fused one (sampling and stop bookkeeping inside each step's CUDA graph), in one process.

For batches of 16/32/64/128 rows (prompts of 4 candidates each) over one ~150-token prompt:
- replay: the model step's graph alone (`Decoder.step`);
- sample eager / sample graph: `fast.sample` (temperature, top-p over the vocabulary) launched
  eagerly, and the same captured in a graph of its own;
- loop eager / loop fused: `fast.decode` with fused=False / True, stop off (every row runs the
  whole budget), decode time over steps.
Then whether the two loops agree: greedy tokens equal, seeded sampled tokens equal, and the
distance between their unseeded token distributions beside the distance between two runs of
the eager loop (sampling noise).

    python scripts/device/profile_decode.py --model /root/m/smollm2.gguf --adapter v1
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch

from engine.llm import fast, prompt
from engine.llm.load import LoadedModel, load

CLAUSES = [
    "a convolutional network for 64x64 colour images",
    "three blocks of convolution, batch norm and ReLU with 32, 64 and 128 channels",
    "max pooling after each block",
    "a dropout of 0.3",
    "a flatten layer",
    "two dense layers of 256 and 64 units",
    "a softmax over 10 classes",
    "skip connections around the second and third blocks",
    "drawn left to right with the layer sizes written under each box",
]


def long_prompt(lm: LoadedModel, tokens: int) -> tuple[str, int]:
    """A request prompt of at least `tokens` tokens (clauses repeated), and its length."""
    words: list[str] = []
    while True:
        words.append(CLAUSES[len(words) % len(CLAUSES)])
        text = prompt.build(lm.tokenizer, ", ".join(words), None)
        length = len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])
        if length >= tokens:
            return text, length


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ms_per_call(fn: Callable[[], object], calls: int, device: torch.device) -> float:
    """Wall milliseconds per call of `fn`, after two warm-up calls (host and device)."""
    for _ in range(2):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    sync(device)
    return (time.perf_counter() - start) * 1000 / calls


def graphed(fn: Callable[[], object]) -> Callable[[], object]:
    """fn captured as a CUDA graph (warmed up on a side stream first), as its replay."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        fn()
    return graph.replay


@torch.inference_mode()
def parts(lm: LoadedModel, text: str, rows: int, args: argparse.Namespace) -> dict[str, float]:
    """ms per step of the replay alone and of sampling alone (eager and in a graph)."""
    dec, ends = fast.decoder(lm), fast.stops(lm)
    prompts = [text] * (rows // args.candidates)
    batch = lm.tokenizer(prompts, return_tensors="pt", add_special_tokens=False)
    ids, mask = batch["input_ids"].to(dec.device), batch["attention_mask"].to(dec.device)
    t = ids.shape[1]
    with dec.lock:
        dec.reserve(rows, t + args.steps)
        dec.prefill(ids, mask, args.candidates)
        b = dec.bucket(rows)
        dec.slot.fill_(t)  # every timed step writes the same cache slot
        replay = ms_per_call(lambda: dec.step(b), args.steps, dec.device)
        logits = dec.step(b).clone()
        suppress = torch.tensor([ends.pad], device=dec.device)

        def pick() -> torch.Tensor:
            return fast.sample(
                logits, temperature=args.temperature, top_p=args.top_p, suppress=suppress
            )

        out = {"replay": replay, "sample eager": ms_per_call(pick, args.steps, dec.device)}
        if dec.device.type == "cuda":
            out["sample graph"] = ms_per_call(graphed(pick), args.steps, dec.device)
    return out


def loop_ms(lm: LoadedModel, text: str, rows: int, fused: bool, args: argparse.Namespace) -> float:
    """ms per step of a whole `fast.decode` call (stop off), the best of `reps` calls."""
    prompts = [text] * (rows // args.candidates)

    def once() -> float:
        got = fast.decode(
            lm, prompts, args.candidates, temperature=args.temperature, top_p=args.top_p,
            max_new_tokens=args.steps, stop=False, fused=fused,
        )  # fmt: skip
        return got.decode_s * 1000 / got.steps

    once()  # captures the graphs of this bucket
    return min(once() for _ in range(args.reps))


def histogram(lm: LoadedModel, text: str, fused: bool, calls: int, positions: int) -> Counter:
    """Counts of (position, token) over the first `positions` tokens of 64 rows a call."""
    counts: Counter = Counter()
    for _ in range(calls):
        ids = fast.decode(lm, [text] * 16, 4, max_new_tokens=positions, fused=fused).ids
        counts.update((p, tok) for row in ids.tolist() for p, tok in enumerate(row))
    return counts


def distance(a: Counter, b: Counter) -> float:
    """Total variation distance between two histograms of equal totals."""
    total = sum(a.values())
    return sum(abs(a[k] - b[k]) for k in a.keys() | b.keys()) / (2 * total)


def agreement(lm: LoadedModel, text: str, args: argparse.Namespace) -> dict[str, object]:
    """Do the two loops give the same tokens? Greedy and seeded with stops on, 64 rows."""
    prompts = [text] * 16

    def ids(fused: bool, **kw: object) -> torch.Tensor:
        return fast.decode(lm, prompts, 4, max_new_tokens=160, fused=fused, **kw).ids

    greedy = torch.equal(ids(False, temperature=0), ids(True, temperature=0))
    seeded = [torch.equal(ids(False, seed=s), ids(True, seed=s)) for s in range(4)]
    calls = args.histogram_calls
    eager, eager2, fused = (histogram(lm, text, f, calls, 8) for f in (False, False, True))
    return {
        "greedy tokens equal": greedy,
        "seeded sampled tokens equal (4 seeds)": seeded,
        "TV eager vs fused": round(distance(eager, fused), 4),
        "TV eager vs eager (noise)": round(distance(eager, eager2), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--rows", default="16,32,64,128")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=150)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--histogram-calls", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lm = load(args.model, adapter=args.adapter, device=args.device)
    text, length = long_prompt(lm, args.prompt_tokens)
    where = torch.cuda.get_device_name() if args.device == "cuda" else args.device
    sampling = f"T {args.temperature} top-p {args.top_p}"
    print(f"{where}, prompt {length} tokens, {args.steps} steps, {sampling}")
    report: dict[str, object] = {"prompt_tokens": length, "rows": {}}
    print("rows | replay | sample eager | sample graph | loop eager | loop fused | saved")
    for rows in map(int, args.rows.split(",")):
        got = parts(lm, text, rows, args)
        got["loop eager"] = loop_ms(lm, text, rows, False, args)
        got["loop fused"] = loop_ms(lm, text, rows, True, args)
        report["rows"][rows] = got
        cells = [got.get(k) for k in ("replay", "sample eager", "sample graph")]
        cells += [got["loop eager"], got["loop fused"]]
        saved = 1 - got["loop fused"] / got["loop eager"]
        shown = ["-" if c is None else f"{c:.3f}" for c in cells]
        print(" | ".join([str(rows), *shown, f"{saved:.0%}"]))
    report["agreement"] = agreement(lm, text, args)
    for key, value in report["agreement"].items():
        print(f"{key}: {value}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
