"""Data flows for sketch v2: processes, the data they take and make, joins and forks.

The answer is `steps:` with data in brackets and, unless the wiring is a plain chain, an
`edges:` line (docs/sketch.md): "a python file processes a picture and outputs text and
matrices; a PCA converts the matrices into a chart" ->

    steps: [picture] | python file | [text] | [matrices] | pca | [chart]
    edges: 1>2 2>3 2>4 4>5 5>6

Each clause of a request states one process, what goes in and what comes out, in one of
several forms (reads / takes / processes X and outputs Y, converts X into Y, produces Y
from X, X goes into P which outputs Y), in the original project's register ("LLM process
that contains: - a python file that ... - a PCA converts ...") or in running prose with
semicolons, sentences, "then" or numbered steps. A datum that one process makes and a
later one uses is one node, so forks and joins come out of the wording.

Names are the request's own words (lowercase, no articles). The answer is kept only when
engine/diagram/spec_dataflow.py reads the request as exactly this structure (what the hint
says and what the pipeline grafts) or not at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.diagram.sketch import Sketch, structure_text
from engine.diagram.spec import extract_spec
from training.data.wording import Words

PROCESSES = (
    "python script", "python file", "pca", "tokenizer", "llm", "ocr model", "feature extractor",
    "classifier", "spark job", "sql query", "embedding model", "cnn", "speech model",
    "summarizer", "etl job", "data loader", "k-means", "random forest", "report generator",
    "translator", "image encoder", "object detector", "bert model", "reranker", "plotting script",
    "scaler", "cleaning script", "parser", "scraper", "retriever", "gpt-4", "notebook",
    "r script", "airflow task", "validator", "autoencoder", "xgboost model", "lambda function",
)  # fmt: skip
DATA = (
    "picture", "image", "text", "matrices", "chart", "csv", "dataframe", "embeddings",
    "labels", "report", "json file", "logs", "audio", "transcript", "tokens", "summary",
    "features", "clusters", "predictions", "scores", "bounding boxes", "parquet files", "table",
    "plot", "prompt", "answer", "documents", "vectors", "histogram", "metrics", "web pages",
    "raw data", "clean data", "pdf", "scanned forms", "sensor readings", "video frames",
    "feature vectors", "query", "passages", "tweets", "sql table", "excel sheet", "heatmap",
)  # fmt: skip
TOPICS = (
    "LLM", "data", "ML", "image", "NLP", "analytics", "RAG", "OCR", "reporting", "vision",
    "speech", "ETL", "research",
)  # fmt: skip


@dataclass(frozen=True)
class DataFlow:
    sketch: Sketch  # structure only (steps, data, edges)
    description: str
    template: str
    read: bool


@dataclass(frozen=True)
class Clause:
    ins: tuple[str, ...]
    process: str
    outs: tuple[str, ...]


def _plan(rng: random.Random) -> list[Clause]:
    """2-4 processes; each takes one or two available data and makes one or two new ones."""
    procs = rng.sample(PROCESSES, rng.choice((2, 2, 3, 3, 4)))
    pool = rng.sample(DATA, 12)
    avail = [pool.pop()]
    clauses = []
    for i, p in enumerate(procs):
        last = i == len(procs) - 1
        take = 2 if len(avail) >= 2 and rng.random() < 0.25 else 1
        ins = tuple(avail[-take:]) if rng.random() < 0.8 else tuple(rng.sample(avail, take))
        n_out = 2 if not last and rng.random() < 0.3 else 1
        if last and rng.random() < 0.15:
            n_out = 0
        outs = tuple(pool.pop() for _ in range(n_out))
        if not ins and not outs:  # pragma: no cover - ins is never empty
            outs = (pool.pop(),)
        clauses.append(Clause(ins, p, outs))
        avail = [d for d in avail if d not in ins or rng.random() < 0.3] + list(outs)
    return clauses


def _sketch(clauses: list[Clause]) -> Sketch:
    """The structure, numbered as the reader numbers it (inputs, process, outputs per clause)."""
    names: list[str] = []
    data: list[int] = []
    index: dict[tuple[bool, str], int] = {}

    def node(name: str, is_data: bool) -> int:
        if (is_data, name) not in index:
            index[(is_data, name)] = len(names)
            names.append(name)
            if is_data:
                data.append(len(names) - 1)
        return index[(is_data, name)]

    edges: list[tuple[int, int]] = []
    for c in clauses:
        ins = [node(x, True) for x in c.ins]
        p = node(c.process, False)
        outs = [node(y, True) for y in c.outs]
        edges += [(i, p) for i in ins] + [(p, o) for o in outs]
    chain = tuple((i, i + 1) for i in range(len(names) - 1))
    return Sketch(steps=tuple(names), data=tuple(data), edges=() if tuple(edges) == chain else
                  tuple(edges))  # fmt: skip


def _art(name: str, w: Words, first: bool) -> str:
    """'a python script' the first time, 'the csv' later; plurals without an article."""
    plural = name.endswith("s") and not name.endswith("ss")
    if w.chance(0.25):
        return name
    if not first:
        return f"the {name}"
    return (
        name
        if plural or name in ("text", "audio", "raw data", "clean data")
        else w.with_article(name)
    )


def _clause_text(c: Clause, w: Words, seen: set[str]) -> str:
    def say(names: tuple[str, ...]) -> str:
        out = [_art(n, w, n not in seen) for n in names]
        return " and ".join(out) if len(out) == 2 else out[0]

    p = _art(c.process, w, True)
    xs = say(c.ins)
    ys = say(c.outs) if c.outs else ""
    seen.update(c.ins + c.outs)
    if not ys:
        return w.pick((f"{p} reads {xs}", f"{p} takes {xs}", f"{xs} goes into {p}",
                       f"{p} uses {xs}", f"{p} consumes {xs}"))  # fmt: skip
    forms = [
        f"{p} reads {xs} and outputs {ys}",
        f"{p} takes {xs} and produces {ys}",
        f"{p} that processes {xs} and outputs {ys}",
        f"{p} converts {xs} into {ys}",
        f"{p} turns {xs} into {ys}",
        f"{p} produces {ys} from {xs}",
        f"{p} takes {xs}, returns {ys}",
        f"{p} loads {xs} and writes {ys}",
        f"{p} receives {xs} and generates {ys}",
    ]
    if len(c.ins) == 1:
        forms.append(f"{xs} goes into {p} which outputs {ys}")
        forms.append(f"{xs} is fed to {p}, which produces {ys}")
    return w.pick(forms)


def _describe(clauses: list[Clause], w: Words) -> tuple[str, str]:
    seen: set[str] = set()
    parts = [_clause_text(c, w, seen) for c in clauses]
    topic = w.pick(TOPICS)
    roll = w.rng.random()
    if roll < 0.35:  # the original project's register: an intro, then dashed items
        intro = w.pick((
            f"{topic} process that contains:", f"{w.opener()} a {topic} pipeline that contains:",
            f"a {topic} workflow with:", f"{w.opener()} a process consisting of:",
            f"{topic} system that contains:", "data flow that contains:",
        )).strip()  # fmt: skip
        mark = w.pick(("- ", "* ", "• "))
        sep = w.pick(("\n", " "))
        return intro + "".join(f"{sep}{mark}{p}" for p in parts), "original"
    if roll < 0.6:
        text = "; ".join(parts)
        frame = w.pick(("{t}", "{o} a data flow: {t}", "{o} this {topic} pipeline: {t}",
                        "data flow diagram: {t}", "{t}. draw it as a data flow"))  # fmt: skip
        return frame.format(t=text, o=w.opener(), topic=topic).strip(), "semicolons"
    if roll < 0.8:
        text = ". ".join(p[:1].upper() + p[1:] for p in parts)
        return text, "sentences"
    if roll < 0.9:
        text = ", then ".join(parts)
        return f"{w.pick(('first ', '', 'so '))}{text}", "then"
    return "\n".join(f"{i}. {p}" for i, p in enumerate(parts, 1)), "numbered"


def data_flow(w: Words) -> DataFlow:
    """A data-flow request and its structure; `reading` checks the finished text."""
    clauses = _plan(w.rng)
    text, template = _describe(clauses, w)
    return DataFlow(_sketch(clauses), text, template, False)


def reading(text: str, flow: DataFlow) -> DataFlow | None:
    """The flow when the reader reads the finished request as exactly it, or not at all."""
    found = extract_spec(text)
    if found is None:
        return DataFlow(flow.sketch, text, flow.template, False)
    if found.kind == "dataflow" and found.structure == structure_text(flow.sketch):
        return DataFlow(flow.sketch, text, flow.template, True)
    return None
