"""Show the loop works: simulated raters who like visible traits teach them to the model by ORPO.

    python -m training.simulate_ratings --base default --adapter v1 --out out/orpo-demo \
        --tastes dashed:3,round:1       # three raters like dashed lines, one round rectangles

1. Fresh synthetic requests (training/data/synth.py, seeds that training never used). A
   request that states a wish about the trait ("with circles") is left out: honouring a wish
   comes before a rater's taste, so it would only blur the measurement.
2. The current model (base + adapter) samples CANDIDATES answers per request through the real
   pipeline (engine/pipeline.py: extractor hint, sampling, reading, trait-blind ranking).
3. Simulated raters of different tastes (`--tastes`, default RATERS raters of `--trait`) give
   each candidate 1..5 stars: 1 for a text that is no diagram, else round(1 + TRAIT_STARS *
   has_their_trait + QUALITY_STARS * readability + noise), clipped. Raters who disagree give
   contradicting pairs, as real users do.
4. engine/service/preferences.py turns the stars into pairs exactly as the engine's rebuild does
   (rating pairs at the engine's margin, plus validity pairs).
5. training/orpo.py tunes a copy of the adapter on them.
6. Before vs after, on held-out requests (another seed): each trait's share among the top-1
   and among all readable candidates, each taste's expected stars for the top-1 (noise-free:
   did anybody's rating get worse?), the quality columns of engine/bench/quality.py; and the
   quality benchmark on the hand-written requests, judged by engine/bench/gate.py's paired test
   with the current adapter measured a second time (another seed) as its noise: "promoted"
   is the gate's verdict.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.bench import gate, quality
from engine.diagram.model import Diagram
from engine.llm.load import LoadedModel, adapter_dir, load
from engine.llm.sampling import DEFAULT, SamplingParams
from engine.pipeline import DrawResult
from engine.service import preferences
from training import orpo
from training.data import synth
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
    tastes: str | None = None  # "dashed:3,round:1": raters per trait; None: RATERS of `trait`
    adapter_out: Path | None = None  # where ORPO writes the new adapter; None: out/adapter
    export: Path | None = None  # also a bf16 copy of it here (half the size, to carry back)
    train_requests: int = 96
    eval_requests: int = 64
    candidates: int = 8
    quality_requests: int | None = None  # None: all hand-written requests
    quality_candidates: int = 4
    batch: int = 32  # requests per generate call
    temperature: float = DEFAULT.temperature
    max_new_tokens: int = DEFAULT.max_new_tokens
    beta: float = 0.1
    lr: float = 2e-4
    epochs: float = 1.0
    max_steps: int | None = 120
    micro_batch: int = 16  # pairs per forward pass: a 135M model is launch-bound, not memory-bound
    seed: int = 0
    device: str = "auto"


def parse_tastes(tastes: str | None, trait: str) -> list[tuple[str, int]]:
    """'dashed:3,round:1' -> [('dashed', 3), ('round', 1)]; None: RATERS raters of `trait`."""
    if not tastes:
        return [(trait, RATERS)]
    out = []
    for part in tastes.split(","):
        name, _, count = part.strip().partition(":")
        if name not in TRAITS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"taste {part!r}: expected TRAIT:RATERS, TRAIT in {sorted(TRAITS)}")
        out.append((name, int(count)))
    return out


def fresh_requests(n: int, seed: int, traits: list[Trait]) -> list[quality.Request]:
    """n synthetic requests that state no wish about any of the traits."""
    wishes = frozenset().union(*(t.wishes for t in traits))
    out: list[quality.Request] = []
    for e in synth.examples(4 * n, seed):
        if not wishes & set(e.style.hints):
            out += quality.accepted([quality.Request(e.description, e.spec)])[0]
        if len(out) == n:
            break
    return out


def sample(lm: LoadedModel, requests: list[quality.Request], cfg: DemoConfig, n: int, seed: int):
    """All requests through the pipeline, cfg.batch per generate call, timed."""
    sampling = SamplingParams(
        temperature=cfg.temperature, max_new_tokens=cfg.max_new_tokens, seed=seed
    )
    return quality.run_set(lm, requests, n=n, batch=cfg.batch, sampling=sampling)


def expected_stars(candidate, trait: Trait) -> float:
    """A rater's noise-free score of one candidate (before rounding and clipping)."""
    if not candidate.parsed:
        return 1.0
    return 1 + TRAIT_STARS * trait.has(candidate.diagram) + QUALITY_STARS * candidate.readability


def stars(candidate, trait: Trait, rng: random.Random) -> int:
    """One simulated rater's score of one candidate."""
    if not candidate.parsed:
        return 1
    true = expected_stars(candidate, trait)
    return int(min(5, max(1, round(true + rng.gauss(0, NOISE_SD)))))


def raters(tastes: list[tuple[str, int]]) -> list[tuple[str, Trait]]:
    """One (user id, trait) per simulated rater."""
    return [(f"{name}{k}", TRAITS[name]) for name, count in tastes for k in range(count)]


def rate(results: list[DrawResult], users: list[tuple[str, Trait]], seed: int):
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
            for user, trait in users:
                ratings.append(preferences.Rating(user, key, stars(c, trait, rng)))
    return written, ratings


def trait_shares(results: list[DrawResult], trait: Trait) -> dict[str, float]:
    """The trait's share among the first-ranked diagrams and among all readable ones."""
    tops = [r.candidates[0] for r in results if r.candidates[0].parsed]
    drawn = [c for r in results for c in r.candidates if c.parsed]

    def share(cs: list) -> float:
        return round(sum(trait.has(c.diagram) for c in cs) / len(cs), 4) if cs else float("nan")

    return {"top1": share(tops), "all": share(drawn), "top1_n": len(tops), "all_n": len(drawn)}


def top1_stars(results: list[DrawResult], trait: Trait) -> float:
    """A rater of this taste's mean expected stars for the first-ranked diagrams."""
    tops = [r.candidates[0] for r in results if r.candidates]
    return round(sum(expected_stars(c, trait) for c in tops) / max(1, len(tops)), 4)


def per_taste(results: list[DrawResult], tastes: list[tuple[str, int]]) -> dict[str, dict]:
    """Each taste's trait shares and expected top-1 stars."""
    return {
        name: trait_shares(results, TRAITS[name]) | {"stars": top1_stars(results, TRAITS[name])}
        for name, _ in tastes
    }


def hand_quality(lm: LoadedModel, name: str, hand, cfg: DemoConfig, seed: int) -> dict:
    """The quality benchmark on the hand-written requests with its per-request values (what
    engine/bench/gate.py's paired test compares)."""
    results, seconds = quality.run_set(
        lm,
        hand,
        n=cfg.quality_candidates,
        batch=cfg.batch,
        # at the default temperature (cfg.temperature is for the rated samples), as before
        sampling=SamplingParams(max_new_tokens=cfg.max_new_tokens, seed=seed),
    )
    row = asdict(quality.score(name, "hand-written", hand, results, seconds))
    return row | {gate.PER_REQUEST: gate.samples(hand, results)}


def measure(lm: LoadedModel, name: str, held_out, hand, tastes, cfg: DemoConfig):
    """Each taste's shares and stars and the quality columns on the held-out requests, then the
    quality benchmark on the hand-written ones (the gate's numbers); yields after each part."""
    results, seconds = sample(lm, held_out, cfg, cfg.candidates, cfg.seed + 20_000)
    row = quality.score(name, "synthetic held-out", held_out, results, seconds)
    yield {"tastes": per_taste(results, tastes), "held_out": asdict(row)}
    yield {"quality": hand_quality(lm, name, hand, cfg, cfg.seed)}


def run(cfg: DemoConfig) -> dict:
    tastes = parse_tastes(cfg.tastes, cfg.trait)
    traits = [TRAITS[name] for name, _ in tastes]
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict = {
        "config": {k: str(v) for k, v in asdict(cfg).items()},
        "tastes": {name: {"trait": TRAITS[name].name, "raters": n} for name, n in tastes},
    }

    def save(stage: str) -> None:  # after each stage: a cut-off run still leaves its numbers
        report["stage"], report["seconds"] = stage, round(time.perf_counter() - started, 1)
        (out / "results.json").write_text(json.dumps(report, indent=2))

    lm = load(cfg.base, device=cfg.device)
    folder = None
    if cfg.adapter is not None:
        folder = Path(cfg.adapter) if Path(cfg.adapter).is_dir() else adapter_dir(cfg.adapter)
        lm.use_adapter("before", folder)
    report["device"] = _card(lm)
    train_set = fresh_requests(cfg.train_requests, 910_000 + cfg.seed, traits)
    held_out = fresh_requests(cfg.eval_requests, 920_000 + cfg.seed, traits)
    hand = quality.read_requests(quality.REQUESTS)[: cfg.quality_requests]
    hand, _ = quality.accepted(hand)

    results, seconds = sample(lm, train_set, cfg, cfg.candidates, cfg.seed + 10_000)
    written, ratings = rate(results, raters(tastes), cfg.seed)
    pairs = preferences.build_pairs(written, ratings, margin=MARGIN)
    preferences.write_jsonl(pairs, out / "pairs.jsonl")
    report["sampling"] = {"requests": len(results), "seconds": round(seconds, 1)}
    report["sampled"] = per_taste(results, tastes)
    report["pairs"] = preferences.summary(pairs)
    save("pairs")

    report["before"] = {}
    for part in measure(lm, "before", held_out, hand, tastes, cfg):
        report["before"] |= part
        save("before")
    # The gate's noise: the current adapter against itself, other sampling seeds.
    report["again"] = {"quality": hand_quality(lm, "again", hand, cfg, cfg.seed + 1)}
    save("again")
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
    for part in measure(lm, "after", held_out, hand, tastes, cfg):
        report["after"] |= part
        save("after")
    decision = gate.decide(
        report["before"]["quality"], report["after"]["quality"], noise=report["again"]["quality"]
    )
    report["gate"] = decision.as_dict()
    save("done")
    (out / "results.md").write_text(markdown(report))
    return report


def markdown(report: dict) -> str:
    """The before/after table."""
    b, a = report["before"], report["after"]
    rows = []
    for name, taste in report["tastes"].items():
        bt, at = b["tastes"][name], a["tastes"][name]
        who = f"{taste['trait']} ({taste['raters']} raters)"
        rows.append((f"{who}: share of top-1 (held-out)", bt["top1"], at["top1"]))
        rows.append((f"{who}: share of all readable", bt["all"], at["all"]))
        rows.append((f"{who}: their expected stars for the top-1", bt["stars"], at["stars"]))
    for set_name, key in (("held-out", "held_out"), ("hand-written", "quality")):
        for col in ("parse_valid", "natural_stop", "top1_exact", "any_exact", "readability"):
            rows.append((f"{col} ({set_name})", b[key][col], a[key][col]))
    lines = ["| metric | before | after |", "|---|---|---|"]
    lines += [f"| {name} | {x} | {y} |" for name, x, y in rows]
    verdict = "passed: promoted" if report["gate"]["passed"] else "failed: not promoted"
    lines += ["", f"Gate (engine/bench/gate.py, paired, hand-written set): {verdict}."]
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
    parser.add_argument("--tastes", default=None, help="raters per trait, e.g. dashed:3,round:1")
    parser.add_argument("--adapter-out", type=Path, default=None, help="default: OUT/adapter")
    parser.add_argument("--export", type=Path, default=None, help="also write a bf16 adapter here")
    for name, value in asdict(DemoConfig(out=Path())).items():
        if name not in ("out", "base", "adapter", "trait", "tastes", "adapter_out", "export"):
            kind = type(value) if value is not None else int
            parser.add_argument("--" + name.replace("_", "-"), type=kind, default=value)
    args = vars(parser.parse_args(argv))
    args["adapter"] = None if args["adapter"] == "none" else args["adapter"]
    report = run(DemoConfig(**args))
    print((Path(args["out"]) / "results.md").read_text())
    return 0 if report["stage"] == "done" else 1


if __name__ == "__main__":
    raise SystemExit(main())
