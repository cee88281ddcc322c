"""How long a person waits for candidates: the fast decode path against plain `generate()`.

Scenarios, each on the same prompts (hand-written requests with their extractor hints) and
the same sampling (temperature 0.7, top-p 0.95):

| scenario       | what                                                                      |
| -------------- | ------------------------------------------------------------------------- |
| 1x8 natural    | one request, 8 candidates that stop by themselves: what a user waits for  |
| 1x8 fixed      | one request, 8 candidates of exactly `tokens` new tokens, both engines    |
| 4x8 fixed      | 4 concurrent requests batched together (throughput), both engines         |
| 1x8 long       | 8 candidates of 700 tokens: the node-list baseline DESIGN.md measured     |
| 1xN side by side | on the CPU, ours against llama.cpp on the same GGUF, runs alternating   |

`tokens` is the mean natural answer length of the default model, so a random-weight model
(which never ends by itself) is timed over as many tokens as a real answer has. Plus the
per-step floor: one decode step run eagerly and replayed from a CUDA graph, against the time
to read the weights once at the measured copy bandwidth; and whether both engines write the
same thing: greedy token agreement, and (with a trained adapter) parse and fidelity rates.
"""

from __future__ import annotations

import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from engine.bench.quality import accepted, read_requests
from engine.diagram.fidelity import fidelity
from engine.llm import fast, prompt, tiny
from engine.llm import generate as plain
from engine.llm.load import LoadedModel, pick_device, prepare_tokenizer
from engine.llm.sampling import DEFAULT, SamplingParams
from engine.pipeline import read, spec_of

DEEPSEEK_SHAPE = "deepseek-1.3b-shape"
REQUESTS = Path(__file__).resolve().parents[2] / "tests" / "data" / "requests.jsonl"
NOMINAL_TOKENS = 64  # docs/sketch.md: a sketch is ~40-80 tokens


@dataclass
class Row:
    model: str
    engine: str  # fast | plain
    scenario: str
    rows: int  # candidates decoded together
    tokens: float  # mean new tokens per candidate
    reps: int
    p50_s: float
    p95_s: float
    steps_per_s: float
    tokens_per_s: float  # new tokens of all rows per second
    candidates_per_s: float
    speedup: float | None = None  # other p50 / fast p50 (plain; llama.cpp: median paired ratio)


@dataclass
class Floor:
    model: str
    rows: int
    eager_ms: float
    graph_ms: float | None
    weights_mb: float
    bytes_floor_ms: float | None  # weights read once at the measured copy bandwidth
    kernels: int | None = None  # GPU kernels (and copies) in one step
    kernel_ms: float | None = None  # their summed durations: what the kernels need, no gaps
    graph_over_kernels: float | None = None  # graph_ms / kernel_ms (issue 7: within 2x)


@dataclass
class Report:
    device: str
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    floors: list[Floor] = field(default_factory=list)
    agreement: list[dict] = field(default_factory=list)
    quality: list[dict] = field(default_factory=list)


# ----------------------------------------------------------------------------- models


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


def deepseek_shape(device: str) -> LoadedModel:
    """DeepSeek-Coder-1.3B's architecture with random weights, built on the device in bf16.

    Its tokenizer is the tiny test one (ids stay inside the 32256-token vocabulary), so its
    prompts are longer in tokens than the real tokenizer's; only prefill notices.
    """
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: PLC0415

    config = LlamaConfig(
        vocab_size=32256,
        hidden_size=2048,
        intermediate_size=5504,
        num_hidden_layers=24,
        num_attention_heads=16,
        num_key_value_heads=16,
        max_position_embeddings=16384,
        rope_theta=100000.0,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    dev = pick_device(device)
    dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    torch.manual_seed(0)
    with torch.device(dev):
        model = LlamaForCausalLM(config).to(dtype).eval()
    return LoadedModel(model, prepare_tokenizer(tiny.tokenizer()), DEEPSEEK_SHAPE)


def requests(count: int) -> list[tuple[str, object]]:
    """The first `count` hand-written requests (text, gold spec)."""
    return [(r.text, r.spec) for r in accepted(read_requests(REQUESTS))[0][:count]]


def prompts_for(lm: LoadedModel, texts: list[str]) -> list[str]:
    return [prompt.build(lm.tokenizer, t, spec_of(t)) for t in texts]


# ----------------------------------------------------------------------------- timing


def sync(lm: LoadedModel) -> None:
    if lm.device.type == "cuda":
        torch.cuda.synchronize(lm.device)


def timed(
    lm: LoadedModel, run: Callable[[], int], reps: int, warmup: Callable[[], int]
) -> tuple[list[float], list[int]]:
    """Wall seconds and new-token counts of `reps` runs after a warm-up run."""
    warmup()
    seconds, tokens = [], []
    for _ in range(reps):
        sync(lm)
        start = time.perf_counter()
        tokens.append(run())
        sync(lm)
        seconds.append(time.perf_counter() - start)
    return seconds, tokens


def fast_run(lm: LoadedModel, ps: list[str], n: int, tokens: int, natural: bool) -> Callable:
    def run() -> int:
        if natural:
            gens = fast.generate(lm, ps, n, SamplingParams(max_new_tokens=tokens))
            return sum(g.tokens for row in gens for g in row)
        return fast.decode(lm, ps, n, max_new_tokens=tokens, stop=False).ids.numel()

    return run


def plain_run(lm: LoadedModel, ps: list[str], n: int, tokens: int, natural: bool) -> Callable:
    """The plain path: engine.llm.generate as served, or transformers' generate() held to
    exactly `tokens` new tokens (same sampling, no stopping criteria)."""

    def run() -> int:
        if natural:
            gens = plain.generate(lm, ps, n, SamplingParams(max_new_tokens=tokens))
            return sum(g.tokens for row in gens for g in row)
        tok = lm.tokenizer
        batch = tok(ps, return_tensors="pt", padding=True, add_special_tokens=False).to(lm.device)
        with torch.inference_mode():
            out = lm.model.generate(
                **batch,
                do_sample=True,
                temperature=DEFAULT.temperature,
                top_p=DEFAULT.top_p,
                top_k=0,
                min_new_tokens=tokens,
                max_new_tokens=tokens,
                num_return_sequences=n,
                pad_token_id=tok.pad_token_id,
                suppress_tokens=[tok.pad_token_id],
            )
        return (out.shape[1] - batch["input_ids"].shape[1]) * out.shape[0]

    return run


def row(
    model: str, engine: str, scenario: str, rows: int, seconds: list[float], tokens: list[int]
) -> Row:
    p50 = statistics.median(seconds)
    p95 = sorted(seconds)[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    per_cand = statistics.mean(tokens) / rows
    # steps: the longest candidate sets the loop length; per_cand underestimates it only
    # for natural runs, whose steps/s is therefore a lower bound.
    return Row(
        model=model,
        engine=engine,
        scenario=scenario,
        rows=rows,
        tokens=round(per_cand, 1),
        reps=len(seconds),
        p50_s=round(p50, 3),
        p95_s=round(p95, 3),
        steps_per_s=round(per_cand / p50, 1),
        tokens_per_s=round(statistics.mean(tokens) / p50, 1),
        candidates_per_s=round(rows / p50, 1),
    )


def measure(
    lm: LoadedModel,
    scenario: str,
    ps: list[str],
    n: int,
    tokens: int,
    natural: bool,
    reps: int,
    plain_reps: int,
) -> list[Row]:
    """The fast row and (if plain_reps) the plain row of one scenario, plain speedup set."""
    out = []
    run = fast_run(lm, ps, n, tokens, natural)
    seconds, counts = timed(lm, run, reps, warmup=run)  # a new cache size captures graphs
    out.append(row(lm.name, "fast", scenario, len(ps) * n, seconds, counts))
    if plain_reps:
        run, short = plain_run(lm, ps, n, tokens, natural), plain_run(lm, ps, n, 4, False)
        seconds, counts = timed(lm, run, plain_reps, warmup=short)  # short: not 700 tokens twice
        out.append(row(lm.name, "plain", scenario, len(ps) * n, seconds, counts))
        out[0].speedup = round(out[1].p50_s / out[0].p50_s, 1)
    return out


def versus_llama_cpp(
    lm: LoadedModel, peer: object, ps: list[str], n: int, tokens: int, reps: int
) -> list[Row]:
    """Ours (n candidates in one batch) and llama.cpp (n candidates one after another) on
    one prompt, exactly `tokens` new tokens each, alternating run by run so that other jobs on
    shared cores slow both alike; speedup is the median of the paired ratios."""
    runs = {
        "fast": fast_run(lm, ps[:1], n, tokens, False),
        "llama.cpp": lambda: peer.run(ps[0], n, tokens),
    }
    for run in runs.values():
        run()  # warm-up: decoder built, caches sized
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, list[int]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            start = time.perf_counter()
            counts[name].append(run())
            seconds[name].append(time.perf_counter() - start)
    scenario = f"1x{n} fixed, side by side"
    out = [row(lm.name, name, scenario, n, seconds[name], counts[name]) for name in runs]
    pairs = zip(seconds["llama.cpp"], seconds["fast"], strict=True)
    out[0].speedup = round(statistics.median(theirs / ours for theirs, ours in pairs), 2)
    return out


def bandwidth_gbs(device: torch.device) -> float | None:
    """Device-to-device copy bandwidth (bytes read + written), GB/s; None off CUDA."""
    if device.type != "cuda":
        return None
    src = torch.empty(1 << 29, dtype=torch.uint8, device=device).random_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        dst.copy_(src)
    end.record()
    end.synchronize()
    return 2 * src.numel() * 10 / (start.elapsed_time(end) / 1e3) / 1e9


def step_floor(lm: LoadedModel, rows: int, bandwidth: float | None) -> Floor:
    """ms per decode step: eager, and replayed from a CUDA graph (the launch-free time)."""
    dec = fast.decoder(lm)
    weight_bytes = dec.weight_bytes
    with torch.inference_mode(), dec.lock:
        dec.reserve(rows, 256)
        dec.ids[:rows] = torch.randint(0, 100, (rows,), device=dec.device)
        dec.pad[:rows] = 0
        dec.slot.fill_(128)

        def per_step(fn: Callable[[], object], reps: int) -> float:
            fn()
            sync(lm)
            start = time.perf_counter()
            for _ in range(reps):
                fn()
            sync(lm)
            return (time.perf_counter() - start) / reps * 1e3

        reps = 50 if dec.device.type == "cuda" else 3
        eager = per_step(lambda: dec._step(rows), reps)
        graph = per_step(lambda: dec.step(rows), 10 * reps) if dec.graphs_on else None
        kernels, kernel_ms = kernel_time(lm, lambda: dec._step(rows))
    floor = weight_bytes / (bandwidth * 1e9) * 1e3 if bandwidth else None
    ratio = graph / kernel_ms if graph is not None and kernel_ms else None
    return Floor(
        model=lm.name,
        rows=rows,
        eager_ms=round(eager, 3),
        graph_ms=None if graph is None else round(graph, 3),
        weights_mb=round(weight_bytes / 1e6, 1),
        bytes_floor_ms=None if floor is None else round(floor, 3),
        kernels=kernels,
        kernel_ms=None if kernel_ms is None else round(kernel_ms, 3),
        graph_over_kernels=None if ratio is None else round(ratio, 2),
    )


def kernel_time(lm: LoadedModel, step: Callable[[], object], reps: int = 5) -> tuple:
    """(kernels, ms) per step as the profiler sees them on the GPU: the summed durations of
    every kernel and copy of one eager step, i.e. the time the step needs with no gap
    between kernels. (None, None) off CUDA."""
    if lm.device.type != "cuda":
        return None, None
    from torch.autograd import DeviceType  # noqa: PLC0415
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    step()
    sync(lm)
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(reps):
            step()
        sync(lm)
    gpu = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    return len(gpu) // reps, sum(e.time_range.elapsed_us() for e in gpu) / reps / 1e3


# ----------------------------------------------------------------------------- equivalence


def agreement(lm: LoadedModel, ps: list[str], tokens: int) -> dict:
    """Greedy decoding by both engines: rows identical, and where the first difference falls
    (bf16 kernels differ, so near-ties may flip late in a row)."""
    ours = fast.decode(lm, ps, 1, temperature=0, max_new_tokens=tokens, stop=False).ids
    tok = lm.tokenizer
    batch = tok(ps, return_tensors="pt", padding=True, add_special_tokens=False).to(lm.device)
    with torch.inference_mode():
        ref = lm.model.generate(
            **batch,
            do_sample=False,
            min_new_tokens=tokens,
            max_new_tokens=tokens,
            pad_token_id=tok.pad_token_id,
            suppress_tokens=[tok.pad_token_id],
        )[:, batch["input_ids"].shape[1] :].cpu()
    same = ours == ref
    first = [int(r.logical_not().nonzero()[0]) if not r.all() else tokens for r in same]
    eager = fast.decode(lm, ps, 1, temperature=0, max_new_tokens=tokens, stop=False, graphs=False)
    fast.decoder(lm)  # back to the default decoder
    return {
        "model": lm.name,
        "graph_equals_eager": bool(torch.equal(eager.ids, ours)),
        "rows": len(ps),
        "tokens": tokens,
        "identical_rows": int(same.all(1).sum()),
        "token_agreement": round(float(same.float().mean()), 4),
        "mean_first_difference": round(statistics.mean(first), 1),
    }


def quality(lm: LoadedModel, asks: list[tuple[str, object]], n: int) -> list[dict]:
    """Parse-valid, natural-stop and exact-structure rates of both engines' candidates."""
    ps = prompts_for(lm, [t for t, _ in asks])
    out = []
    for engine, gen in (("fast", fast.generate), ("plain", plain.generate)):
        start = time.perf_counter()
        rows = gen(lm, ps, n, seed=0)
        seconds = time.perf_counter() - start
        cands = [
            (read(g, spec), spec) for row, (_, spec) in zip(rows, asks, strict=True) for g in row
        ]
        gold = [(c, s) for c, s in cands if s is not None]
        exact = [c.parsed and bool((f := fidelity(c.diagram, s)) and f.exact) for c, s in gold]
        out.append(
            {
                "model": lm.name,
                "engine": engine,
                "requests": len(asks),
                "candidates": len(cands),
                "parse_valid": round(sum(c.parsed for c, _ in cands) / len(cands), 3),
                "natural_stop": round(sum(c.generation.finished for c, _ in cands) / len(cands), 3),
                "exact": round(sum(exact) / max(1, len(exact)), 3),
                "tokens": round(statistics.mean(c.generation.tokens for c, _ in cands), 1),
                "seconds": round(seconds, 2),
            }
        )
    return out


# ----------------------------------------------------------------------------- output


def markdown(report: Report) -> str:
    cols = list(Row.__dataclass_fields__)
    lines = [f"device: {report.device}", ""]
    lines += ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    for r in report.rows:
        lines.append(
            "| " + " | ".join("" if v is None else str(v) for v in vars(r).values()) + " |"
        )
    if report.floors:
        cols = list(Floor.__dataclass_fields__)
        lines += ["", "| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
        for f in report.floors:
            lines.append("| " + " | ".join(str(v) for v in vars(f).values()) + " |")
    for title, dicts in (("greedy agreement", report.agreement), ("quality", report.quality)):
        if dicts:
            cols = list(dicts[0])
            lines += ["", f"{title}:", "| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
            lines += ["| " + " | ".join(str(d[c]) for c in cols) + " |" for d in dicts]
    lines += [""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines)


def plot(report: Report, path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = report.rows
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(rows) + 2), 4.5))
    labels = [f"{textwrap.fill(r.model, 12)}\n{r.scenario}\n{r.engine}" for r in rows]
    colors = ["tab:green" if r.engine == "fast" else "tab:gray" for r in rows]
    ax.bar(range(len(rows)), [r.p50_s for r in rows], color=colors)
    for i, r in enumerate(rows):
        ax.text(i, r.p50_s, f"{r.p50_s:.2f}s", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)), labels, fontsize=6)
    ax.set_yscale("log")
    ax.set_ylabel("p50 seconds per call (log)")
    ax.set_title(f"generation latency, {report.device}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
