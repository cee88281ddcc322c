"""How well a model (with or without an adapter) turns requests into the right diagrams.

A prompt set is a list of requests, each with the structure it states (a gold Spec) or
None. Every request gets N candidates through the real pipeline (extractor hint, sampling,
reading, ranking); the top-ranked one is what a user would see first. Reported per set:

| column          | meaning                                                              |
| --------------- | -------------------------------------------------------------------- |
| refused         | requests the pipeline refuses with a message (empty, too long, over  |
|                 | 200 nodes); the other columns are over the rest                      |
| parse_valid     | share of all candidates that became a diagram                        |
| natural_stop    | share of all candidates that ended by themselves (not at the limit)  |
| top1_exact      | share of requests with a gold spec whose top-1 matches it exactly    |
| any_exact       | ... where any of the N candidates matches it                         |
| off_canvas      | share of top-1 diagrams with some node area off the canvas           |
| overlap         | share of top-1 diagrams with overlapping nodes                       |
| readability     | mean geometric readability of the top-1 diagrams (0..1)              |
| tokens          | mean new tokens per candidate                                        |
| s_per_request   | wall time of generation + reading per request, batched as run       |

Fidelity here is judged against the gold spec of the prompt set, not the extractor's guess
that the pipeline ranks with, so a misread request counts as a miss.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from engine.bench.faithful import judge
from engine.catalogue import catalogue
from engine.diagram.fidelity import fidelity
from engine.diagram.model import Spec
from engine.diagram.read import to_diagram
from engine.llm import fast
from engine.llm.load import LoadedModel
from engine.llm.sampling import SamplingParams
from engine.pipeline import (
    BadRequest,
    DrawResult,
    Generator,
    Reader,
    check,
    draw_many,
    spec_of,
)

COLUMNS = (
    "parse_valid",
    "natural_stop",
    "top1_exact",
    "any_exact",
    "off_canvas",
    "overlap",
    "readability",
    "tokens",
    "s_per_request",
)
REQUESTS = Path(__file__).resolve().parents[2] / "tests" / "data" / "requests.jsonl"
SEEDED = SamplingParams(seed=0)  # the benches seed every run: the same figures each time


@dataclass(frozen=True)
class Request:
    text: str
    spec: Spec | None


@dataclass
class Row:
    model: str
    prompts: str
    requests: int
    refused: int
    with_spec: int
    parse_valid: float
    natural_stop: float
    top1_exact: float
    any_exact: float
    off_canvas: float
    overlap: float
    readability: float
    tokens: float
    s_per_request: float


def spec_from_json(raw: dict | None) -> Spec | None:
    if not raw:
        return None
    return Spec(raw["kind"], tuple(raw.get("layers") or ()), tuple(raw.get("steps") or ()))


def read_requests(path: Path) -> list[Request]:
    """A JSON-lines prompt set: {text|description, spec: {kind, layers|steps} | null}."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            text = row["text"] if "text" in row else row["description"]
            out.append(Request(text, spec_from_json(row["spec"])))
    return out


def accepted(requests: list[Request]) -> tuple[list[Request], int]:
    """The requests the pipeline takes, and how many it refuses (empty, too long, too big)."""
    keep = []
    for q in requests:
        try:
            spec_of(check(q.text))
        except BadRequest:
            continue
        keep.append(q)
    return keep, len(requests) - len(keep)


def run_set(
    lm: LoadedModel,
    requests: list[Request],
    *,
    n: int = 4,
    batch: int = 16,
    sampling: SamplingParams = SEEDED,
    generator: Generator = fast.generate,
    reader: Reader = spec_of,
) -> tuple[list[DrawResult], float]:
    """All (accepted) requests through the pipeline, `batch` requests per generation call
    (the k-th request's batch seeded with sampling.seed + k: a run is repeatable)."""
    results: list[DrawResult] = []
    start = time.perf_counter()
    for k in range(0, len(requests), batch):
        chunk = [r.text for r in requests[k : k + batch]]
        results += draw_many(
            lm,
            chunk,
            n,
            sampling=replace(sampling, seed=(sampling.seed or 0) + k),
            with_png=False,
            generator=generator,
            reader=reader,
        )
    return results, time.perf_counter() - start


def _exact(candidate: object, spec: Spec) -> bool:
    if not candidate.parsed:
        return False
    f = fidelity(candidate.diagram, spec)
    return bool(f and f.exact)


def score(
    model: str,
    prompts: str,
    requests: list[Request],
    results: list[DrawResult],
    seconds: float,
    refused: int = 0,
) -> Row:
    """The table row of one model on one prompt set (requests = the accepted ones)."""
    cands = [c for r in results for c in r.candidates]
    tops = [r.candidates[0] for r in results]
    drawn = [c for c in tops if c.parsed]
    gold = [(q.spec, r) for q, r in zip(requests, results, strict=True) if q.spec is not None]

    def share(xs: list[bool]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else float("nan")

    return Row(
        model=model,
        prompts=prompts,
        requests=len(results),
        refused=refused,
        with_spec=len(gold),
        parse_valid=share([c.parsed for c in cands]),
        natural_stop=share([c.generation.finished for c in cands]),
        top1_exact=share([_exact(r.candidates[0], s) for s, r in gold]),
        any_exact=share([any(_exact(c, s) for c in r.candidates) for s, r in gold]),
        off_canvas=share([c.metrics.off_canvas_share > 0 for c in drawn]),
        overlap=share([c.metrics.overlap_count > 0 for c in drawn]),
        readability=round(sum(c.readability for c in tops) / max(1, len(tops)), 4),
        tokens=round(sum(c.generation.tokens for c in cands) / max(1, len(cands)), 1),
        s_per_request=round(seconds / max(1, len(results)), 3),
    )


def details(requests: list[Request], results: list[DrawResult]) -> list[dict]:
    """Per request: what was asked, the extractor's spec, and each candidate's outcome."""
    out = []
    for q, r in zip(requests, results, strict=True):
        out.append(
            {
                "text": q.text,
                "gold": None if q.spec is None else asdict(q.spec),
                "hint": None if r.spec is None else asdict(r.spec),
                "candidates": [
                    {
                        "text": c.text,
                        "parsed": c.parsed,
                        "finished": c.generation.finished,
                        "exact": None if q.spec is None else _exact(c, q.spec),
                    }
                    for c in r.candidates
                ],
            }
        )
    return out


def markdown(rows: list[Row]) -> str:
    head = ["model", "prompts", "requests", "refused", "with_spec", *COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        d = asdict(r)
        lines.append("| " + " | ".join(str(d[h]) for h in head) + " |")
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> None:
    """Grouped bars of the rate columns, one group per (model, prompt set)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rates = ["parse_valid", "natural_stop", "top1_exact", "any_exact", "off_canvas", "overlap"]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(1, len(rows))
    for i, r in enumerate(rows):
        xs = [k + i * width for k in range(len(rates))]
        ax.bar(xs, [getattr(r, c) for c in rates], width, label=f"{r.model} / {r.prompts}")
    ax.set_xticks([k + 0.4 - width / 2 for k in range(len(rates))], rates)
    ax.set(ylim=(0, 1.05), ylabel="share", title="diagram quality by model and prompt set")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ---- the held-out dev set, per kind ---------------------------------------------------------

DEV = Path(__file__).resolve().parent / "data" / "dev_v2.jsonl"
KIND_COLUMNS = (
    "faithful_top1",
    "faithful_any",
    "invented",
    "parse_valid",
    "natural_stop",
    "tokens",
    "s_per_request",
)


@dataclass
class KindRow:
    """One model on one kind of the dev set (engine/bench/data/README.md).

    faithful_top1: share of the kind's requests whose top-ranked candidate the judge
    (engine/bench/faithful.py) calls faithful (a refused request counts as not drawn, which
    is faithful only for kind "refuse"); faithful_any: ... where any of the N is; invented:
    labelled top-1 nodes with a word from neither the request nor its gold, over all
    labelled top-1 nodes; parse_valid, natural_stop, tokens: over all candidates of the
    accepted requests; s_per_request: wall time of the kind's batches (generation, reading,
    ranking) over its accepted requests.
    """

    model: str
    kind: str
    requests: int
    refused: int
    faithful_top1: float
    faithful_any: float
    invented: float
    parse_valid: float
    natural_stop: float
    tokens: float
    s_per_request: float


def read_dev(path: Path = DEV) -> list[dict]:
    """The dev set's rows: {text, kind, gold}."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def expected_of(row: dict) -> object:
    """A named request's expected diagram: the catalogue entry the gold names (by name, else
    by alias), adapted to the request, as `diagrammer bench reader` builds it; else None."""
    if row["kind"] != "named":
        return None
    wanted = str(row["gold"].get("entry", "")).lower()
    entry = next((e for e in catalogue.entries() if e.name.lower() == wanted), None)
    entry = entry or catalogue.find(wanted)
    return to_diagram(catalogue.adapt(entry, row["text"])).diagram if entry else None


def _refused(text: str) -> bool:
    try:
        spec_of(check(text))
    except BadRequest:
        return True
    return False


def run_dev(
    lm: LoadedModel,
    rows: list[dict],
    model: str,
    *,
    n: int = 8,
    batch: int = 64,
    sampling: SamplingParams = SEEDED,
    generator: Generator = fast.generate,
    reader: Reader = spec_of,
) -> tuple[list[KindRow], list[dict]]:
    """Every dev request through the pipeline, kind by kind; the rows and per-request details."""
    out: list[KindRow] = []
    details: list[dict] = []
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    for kind in kinds:
        mine = [r for r in rows if r["kind"] == kind]
        refused = [r for r in mine if _refused(r["text"])]
        taken = [r for r in mine if not _refused(r["text"])]
        results, seconds = run_set(
            lm,
            [Request(r["text"], None) for r in taken],
            n=n,
            batch=batch,
            sampling=sampling,
            generator=generator,
            reader=reader,
        )
        top1, any_n, invented, labels = [], [], 0, 0
        for r in refused:
            v = judge(None, kind, r["gold"], True, text=r["text"])
            top1.append(v.faithful)
            any_n.append(v.faithful)
            details.append({"text": r["text"], "kind": kind, "refused": True, "top1": v.faithful,
                            "why": v.why})  # fmt: skip
        for r, res in zip(taken, results, strict=True):
            expected = expected_of(r)
            verdicts = [
                judge(
                    c.diagram if c.parsed else None,
                    kind,
                    r["gold"],
                    False,
                    text=r["text"],
                    expected=expected,
                )  # fmt: skip
                for c in res.candidates
            ]
            top1.append(verdicts[0].faithful)
            any_n.append(any(v.faithful for v in verdicts))
            invented += verdicts[0].invented
            labels += verdicts[0].labels
            details.append(
                {
                    "text": r["text"],
                    "kind": kind,
                    "refused": False,
                    "top1": verdicts[0].faithful,
                    "why": verdicts[0].why,
                    "any": any_n[-1],
                    "hint": None if res.spec is None else res.spec.kind,
                    "top1_text": res.candidates[0].text,
                    # every candidate in rank order, for designing a ranking offline
                    "candidates": [c.text for c in res.candidates],
                    "faithful": [v.faithful for v in verdicts],
                }
            )
        cands = [c for res in results for c in res.candidates]

        def share(xs: list[bool]) -> float:
            return round(sum(xs) / len(xs), 4) if xs else float("nan")

        out.append(
            KindRow(
                model=model,
                kind=kind,
                requests=len(mine),
                refused=len(refused),
                faithful_top1=share(top1),
                faithful_any=share(any_n),
                invented=round(invented / labels, 4) if labels else 0.0,
                parse_valid=share([c.parsed for c in cands]),
                natural_stop=share([c.generation.finished for c in cands]),
                tokens=round(sum(c.generation.tokens for c in cands) / max(1, len(cands)), 1),
                s_per_request=round(seconds / max(1, len(taken)), 3),
            )
        )
    return out, details


def kind_markdown(rows: list[KindRow]) -> str:
    head = ["model", "kind", "requests", "refused", *KIND_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        d = asdict(r)
        lines.append("| " + " | ".join(str(d[h]) for h in head) + " |")
    return "\n".join(lines)
