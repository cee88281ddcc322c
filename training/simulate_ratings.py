"""Show the loop works: simulated raters who like a visible trait teach it to the model by ORPO.

    python -m training.simulate_ratings --base default --adapter v1 --out out/orpo-demo

1. Fresh synthetic requests (training/data/synth.py, seeds that training never used). A
   request that states a wish about the trait ("with circles") is left out: honouring a wish
   comes before a rater's taste, so it would only blur the measurement.
2. The current model (base + adapter) samples CANDIDATES answers per request through the real
   pipeline (engine/pipeline.py: extractor hint, sampling, reading, trait-blind ranking).
3. RATERS simulated raters give each candidate 1..5 stars: 1 for a text that is no diagram,
   else round(1 + TRAIT_STARS * trait + QUALITY_STARS * readability + noise), clipped.
4. training/preferences.py turns the stars into pairs exactly as the engine's rebuild does
   (rating pairs at the engine's margin, plus validity pairs).
5. training/orpo.py tunes a copy of the adapter on them.
6. Before vs after, on held-out requests (another seed): the trait's share among the top-1
   and among all readable candidates, with the quality columns of engine/bench/quality.py;
   and the quality benchmark on the hand-written requests, judged by training/gate.py.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.bench import quality
from engine.diagram.model import Diagram
from engine.llm.load import LoadedModel
from engine.pipeline import DrawResult, draw_many
from training import gate, orpo, preferences
from training.data.styles import LINE_HINTS, SHAPE_HINTS

RATERS, TRAIT_STARS, QUALITY_STARS, NOISE_SD = 3, 2.0, 2.0, 0.5
MARGIN = 2  # the engine's default preference_margin


@dataclass(frozen=True)
class Trait:
    """A visible taste: which diagrams have it, and which request wishes concern it."""

    name: str
    has: Callable[[Diagram], bool]
    wishes: frozenset[str]


def _majority(diagram: Diagram, pick: Callable, value: str) -> bool:
    return sum(pick(n) == value for n in diagram.nodes) * 2 > len(diagram.nodes)


TRAITS = {
    "round": Trait(
        "round rectangles",
        lambda d: _majority(d, lambda n: n.shape, "round rectangle"),
        frozenset(p for phrases in SHAPE_HINTS.values() for p in phrases),
    ),
    "dashed": Trait(
        "dashed lines",
        lambda d: _majority(d, lambda n: n.line_style, "dashed line"),
        frozenset(p for phrases in LINE_HINTS.values() for p in phrases),
    ),
}


@dataclass
class DemoConfig:
    out: Path
    base: str = "default"
    adapter: str | None = "v1"  # a shipped version or a folder; None: the bare model
    trait: str = "round"
    adapter_out: Path | None = None  # where ORPO writes the new adapter; None: out/adapter
    export: Path | None = None  # also a bf16 copy of it here (half the size, to carry back)
    train_requests: int = 96
    eval_requests: int = 64
    candidates: int = 8
    quality_requests: int | None = None  # None: all hand-written requests
    quality_candidates: int = 4
    batch: int = 32  # requests per generate call
    temperature: float = 0.7
    max_new_tokens: int = 160
    beta: float = 0.1
    lr: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = 120
    micro_batch: int = 16  # pairs per forward pass: a 135M model is launch-bound, not memory-bound
    seed: int = 0
    device: str = "auto"


def fresh_requests(n: int, seed: int, trait: Trait) -> list[quality.Request]:
    """n synthetic requests that state no wish about the trait."""
    from training.data.synth import examples  # noqa: PLC0415

    out: list[quality.Request] = []
    for e in examples(4 * n, seed):
        if not trait.wishes & set(e.style.hints):
            out.append(quality.Request(e.description, e.spec))
        if len(out) == n:
            break
    return out


def sample(lm: LoadedModel, requests: list[quality.Request], cfg: DemoConfig, n: int, seed: int):
    """All requests through the pipeline, cfg.batch per generate call, timed."""
    results: list[DrawResult] = []
    start = time.perf_counter()
    for k in range(0, len(requests), cfg.batch):
        results += draw_many(
            lm,
            [r.text for r in requests[k : k + cfg.batch]],
            n,
            temperature=cfg.temperature,
            max_new_tokens=cfg.max_new_tokens,
            seed=seed + k,
            with_png=False,
        )
    return results, time.perf_counter() - start


def stars(candidate, trait: Trait, rng: random.Random) -> int:
    """One simulated rater's score of one candidate."""
    if not candidate.parsed:
        return 1
    true = 1 + TRAIT_STARS * trait.has(candidate.diagram) + QUALITY_STARS * candidate.readability
    return int(min(5, max(1, round(true + rng.gauss(0, NOISE_SD)))))


def rate(results: list[DrawResult], trait: Trait, seed: int):
    """The candidates as the store holds them, and every rater's stars for each."""
    rng = random.Random(seed)
    written, ratings = [], []
    for q, result in enumerate(results):
        for c in result.candidates:
            key = f"{q}-{c.rank}"
            written.append(
                preferences.Written(
                    diagram_id=key,
                    request_id=str(q),
                    prompt=result.prompt,
                    text=c.text,
                    valid=c.valid,
                    natural_stop=c.generation.finished,
                    readability=c.readability if c.parsed else None,
                    rank=c.rank,
                )
            )
            for user in range(RATERS):
                ratings.append(preferences.Rating(f"rater{user}", key, stars(c, trait, rng)))
    return written, ratings


def trait_shares(results: list[DrawResult], trait: Trait) -> dict[str, float]:
    """The trait's share among the first-ranked diagrams and among all readable ones."""
    tops = [r.candidates[0] for r in results if r.candidates[0].parsed]
    drawn = [c for r in results for c in r.candidates if c.parsed]

    def share(cs: list) -> float:
        return round(sum(trait.has(c.diagram) for c in cs) / len(cs), 4) if cs else float("nan")

    return {"top1": share(tops), "all": share(drawn), "top1_n": len(tops), "all_n": len(drawn)}


def measure(lm: LoadedModel, name: str, held_out, hand, trait: Trait, cfg: DemoConfig):
    """The trait's shares and the quality columns on the held-out requests, then the quality
    benchmark on the hand-written ones (the gate's numbers); yields after each part."""
    results, seconds = sample(lm, held_out, cfg, cfg.candidates, cfg.seed + 20_000)
    row = quality.score(name, "synthetic held-out", held_out, results, seconds)
    yield {"trait": trait_shares(results, trait), "held_out": asdict(row)}
    hand_results, hand_s = quality.run_set(
        lm, hand, n=cfg.quality_candidates, batch=cfg.batch, max_new_tokens=cfg.max_new_tokens
    )
    yield {"quality": asdict(quality.score(name, "hand-written", hand, hand_results, hand_s))}


def run(cfg: DemoConfig) -> dict:
    from engine.llm.load import adapter_dir, load  # noqa: PLC0415

    trait = TRAITS[cfg.trait]
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict = {"config": {k: str(v) for k, v in asdict(cfg).items()}, "trait": trait.name}

    def save(stage: str) -> None:  # after each stage: a cut-off run still leaves its numbers
        report["stage"], report["seconds"] = stage, round(time.perf_counter() - started, 1)
        (out / "results.json").write_text(json.dumps(report, indent=2))

    lm = load(cfg.base, device=cfg.device)
    folder = None
    if cfg.adapter is not None:
        folder = Path(cfg.adapter) if Path(cfg.adapter).is_dir() else adapter_dir(cfg.adapter)
        lm.use_adapter("before", folder)
    report["device"] = _card(lm)
    train_set = fresh_requests(cfg.train_requests, 910_000 + cfg.seed, trait)
    held_out = fresh_requests(cfg.eval_requests, 920_000 + cfg.seed, trait)
    hand = quality.read_requests(quality.REQUESTS)[: cfg.quality_requests]
    hand, _ = quality.accepted(hand)

    results, seconds = sample(lm, train_set, cfg, cfg.candidates, cfg.seed + 10_000)
    written, ratings = rate(results, trait, cfg.seed)
    pairs = preferences.build_pairs(written, ratings, margin=MARGIN)
    preferences.write_jsonl(pairs, out / "pairs.jsonl")
    report["sampling"] = {"requests": len(results), "seconds": round(seconds, 1)}
    report["sampled_trait"] = trait_shares(results, trait)
    report["pairs"] = preferences.summary(pairs)
    save("pairs")

    report["before"] = {}
    for part in measure(lm, "before", held_out, hand, trait, cfg):
        report["before"] |= part
        save("before")
    new = Path(cfg.adapter_out or out / "adapter")
    summary = orpo.train(
        orpo.OrpoConfig(
            pairs=out / "pairs.jsonl",
            out=new,
            base_adapter=folder,
            base=cfg.base,
            beta=cfg.beta,
            lr=cfg.lr,
            epochs=cfg.epochs,
            max_steps=cfg.max_steps,
            micro_batch=cfg.micro_batch,
            seed=cfg.seed,
            device=cfg.device,
        )
    )
    report["orpo"] = {k: v for k, v in summary.items() if k != "config"}
    save("orpo")
    if cfg.export is not None:  # before the last measurement: a cut-off run keeps the adapter
        export_bf16(new, Path(cfg.export))

    lm.use_adapter("after", new)
    report["after"] = {}
    for part in measure(lm, "after", held_out, hand, trait, cfg):
        report["after"] |= part
        save("after")
    decision = gate.decide(report["before"]["quality"], report["after"]["quality"])
    report["gate"] = decision.as_dict()
    save("done")
    (out / "results.md").write_text(markdown(report))
    return report


def markdown(report: dict) -> str:
    """The before/after table."""
    b, a = report["before"], report["after"]
    rows = [
        (f"{report['trait']}: share of top-1 (held-out)", b["trait"]["top1"], a["trait"]["top1"]),
        (f"{report['trait']}: share of all readable", b["trait"]["all"], a["trait"]["all"]),
    ]
    for set_name, key in (("held-out", "held_out"), ("hand-written", "quality")):
        for col in ("parse_valid", "natural_stop", "top1_exact", "any_exact", "readability"):
            rows.append((f"{col} ({set_name})", b[key][col], a[key][col]))
    lines = ["| metric | before | after |", "|---|---|---|"]
    lines += [f"| {name} | {x} | {y} |" for name, x, y in rows]
    verdict = "passed" if report["gate"]["passed"] else "failed"
    lines += ["", f"Gate (training/gate.py, hand-written set): {verdict}."]
    lines += [f"- {r}" for r in report["gate"]["reasons"]]
    return "\n".join(lines) + "\n"


def export_bf16(adapter: Path, dest: Path) -> None:
    """A bf16 copy of an adapter folder (half the size: what travels back from the GPU)."""
    import torch  # noqa: PLC0415
    from safetensors.torch import load_file, save_file  # noqa: PLC0415

    dest.mkdir(parents=True, exist_ok=True)
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    save_file(
        {k: v.to(torch.bfloat16) for k, v in weights.items()}, dest / "adapter_model.safetensors"
    )
    (dest / "adapter_config.json").write_text((adapter / "adapter_config.json").read_text())


def _card(lm: LoadedModel) -> str:
    import torch  # noqa: PLC0415

    if lm.device.type == "cuda":
        return torch.cuda.get_device_name(lm.device)
    return "cpu"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--base", default="default")
    parser.add_argument("--adapter", default="v1", help="version or folder; 'none': bare model")
    parser.add_argument("--trait", choices=sorted(TRAITS), default="round")
    parser.add_argument("--adapter-out", type=Path, default=None, help="default: OUT/adapter")
    parser.add_argument("--export", type=Path, default=None, help="also write a bf16 adapter here")
    for name, value in asdict(DemoConfig(out=Path())).items():
        if name not in ("out", "base", "adapter", "trait", "adapter_out", "export"):
            kind = type(value) if value is not None else int
            parser.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    args = vars(parser.parse_args(argv))
    args["adapter"] = None if args["adapter"] == "none" else args["adapter"]
    report = run(DemoConfig(**args))
    print((Path(args["out"]) / "results.md").read_text())
    return 0 if report["stage"] == "done" else 1


if __name__ == "__main__":
    raise SystemExit(main())
