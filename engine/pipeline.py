"""One request, end to end: description -> prompt -> N sketches -> diagrams -> ranked candidates.

    check the description -> extract the spec -> build the prompt (with the spec as a hint)
    -> sample N candidates (one batch, also across requests) -> read each (sketch -> layout,
    or node list -> parser) -> validate -> readability metrics -> fidelity to the spec
    -> rank -> render the top K to PNG

A Ranker orders a request's candidates and draws the ones to show: by_readability (geometric
readability, no scorers) by default; the asking user's (engine/scoring/user_rank.py: CNN
readability, per-user kNN, engine/scoring/rank.py) through `ranker=` to `draw`, or one per
request to `read_many`, as the engine does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from common.limits import MAX_DESCRIPTION_CHARS
from engine.candidate import Candidate
from engine.catalogue import catalogue
from engine.diagram.blocks import kind_of
from engine.diagram.fidelity import fidelity, words
from engine.diagram.layout import check_layers
from engine.diagram.metrics import metrics
from engine.diagram.model import MAX_NODES, DiagramError, Problem, Spec
from engine.diagram.read import to_diagram
from engine.diagram.render import render
from engine.diagram.sketch import looks_like_sketch, parse_sketch, structure_text, style_text
from engine.diagram.spec import extract_spec
from engine.diagram.spec_dataflow import describes_flow
from engine.diagram.spec_flow import ARROW
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from engine.llm import fast, prompt
from engine.llm.generate import Generation
from engine.llm.load import LoadedModel
from engine.llm.sampling import DEFAULT, SamplingParams

MAX_DESCRIPTION = MAX_DESCRIPTION_CHARS  # characters: the limit the bot and engine share
# engine.llm.generate.generate's signature: (lm, prompts, n, sampling)
Generator = Callable[[LoadedModel, list[str], int, SamplingParams], list[list[Generation]]]
# Orders one request's candidates, best first, and draws the PNGs of the ones to show.
Ranker = Callable[[list[Candidate]], list[Candidate]]


class BadRequest(ValueError):
    """A description the pipeline refuses, with a one-sentence reason."""


@dataclass
class DrawResult:
    description: str
    spec: Spec | None
    prompt: str
    candidates: list[Candidate]  # ranked, best first
    timings: dict[str, float]
    model: str
    adapter: str | None

    def top(self, k: int) -> list[Candidate]:
        return self.candidates[:k]


def check(description: str) -> str:
    """The description, stripped; BadRequest when it is empty or too long."""
    text = (description or "").strip()
    if not text:
        raise BadRequest("the description is empty: say what to draw")
    if len(text) > MAX_DESCRIPTION:
        raise BadRequest(
            f"the description is {len(text)} characters long; the limit is {MAX_DESCRIPTION}"
        )
    return text


_NAME = re.compile(  # a proper name before an architecture word: "the Zorblax-9 architecture"
    r"(?<![.!?]\s)(?<!^)\b(?P<name>[A-Z][A-Za-z]*(?:[-.]?\d+[A-Za-z]*)?|[A-Za-z]+-?\d+\w*)"
    r"(?:\s+v?\d+)?\s+(?:architecture|model|network|net|transformer|arch|llm)\b"
)


# Kinds written as one word: BiLSTM, ConvLSTM, BiGRU, DeepCNN, ConvNet, StackedRNN.
_KIND_WORD = re.compile(
    r"(?:bi|conv|deep|stacked|multi|simple|gated|recurrent|dense|sparse|wide)*"
    r"(?:lstm|gru|rnn|cnn|mlp|net|convnet|dnn|ffn|fcn)s?",
    re.I,
)


def unknown_name(text: str) -> str | None:
    """A name the request asks for that the catalogue does not hold ("the Hyperblorp
    transformer", "the Zorblax-9 architecture"), or None. Words of the catalogue's own
    aliases ("Vision Transformer", "Siamese network"), plain acronyms (CNN, MLP) and kinds
    written as one word (BiLSTM, ConvNet) are known."""
    known = catalogue.alias_words()
    for m in _NAME.finditer(text):
        words = catalogue.normalise(m["name"]).split()
        if m["name"].isupper() and len(m["name"]) <= 5 or _KIND_WORD.fullmatch(m["name"]):
            continue  # CNN, RNN, LSTM, BiLSTM: kinds, not names
        if not set(words) <= known:
            return m["name"]
    return None


# A word written as a name: a capital inside it (ResNeXt, StyleGAN, MobileNetV2) or letters
# and digits together (T5, YOLOv8, DenseNet-121, Inception-v3).
_NAME_WORD = re.compile(
    r"\b(?:[A-Za-z][a-z]+[A-Z][A-Za-z0-9]*|[A-Za-z]+(?:-?[A-Za-z]*\d+[A-Za-z0-9]*)+)"
    r"(?:-[A-Za-z0-9]+)*"
)

_QUESTION = re.compile(
    r"^\s*(?:what|who|why|how|which|when|where|is|are|does|do|should|explain|tell me)\b", re.I
)
_DRAW = re.compile(
    r"\b(?:draw|diagram|sketch|visuali[sz]e|plot|show|picture|figure|chart|flow ?chart|illustrat"
    r"\w*|architecture|pipeline|layers?|steps?)\b",
    re.I,
)
_WORDS_ML = frozenset(
    """
    network net model layer layers input inputs output outputs hidden node nodes neuron
    neurons unit units data dataset train training trained test validate validation
    evaluate predict deploy pipeline process flow step steps loss gradient weights batch
    epoch feature features encoder decoder embedding attention classifier image images
    text token tokens label labels agent reward policy loop cluster clusters tree forest
    regression vector vectors matrix script file csv dataframe chart query retrieval
    prompt llm cnn rnn mlp gan transformer
    """.split()  # noqa: SIM905 - a word list reads best as words
)


# Words of a request that only asks for a name ("draw the ResNet-101 architecture for
# 10 classes on cifar, please"), besides the name itself and numbers.
_ASKING = frozenset(
    words(
        "draw diagram show sketch make give figure picture please pls plz thanks architecture "
        "model network net block layer class classes output outputs input inputs image images "
        "digits cifar mnist imagenet"
    )
)


def _asks_for_variant(text: str) -> str | None:
    """A catalogue entry's variant the catalogue lacks, when the request asks for just that
    ("draw ResNet-101 for 10 classes"); a request that says more ("distill gpt-2 into a
    small model") is left to the model."""
    if (name := catalogue.unknown_variant(text)) is None:
        return None
    rest = set(words(text)) - set(words(name)) - _ASKING
    return name if all(w.isdigit() for w in rest) else None


def unknown(name: str) -> str:
    """The sentence for a name the catalogue does not hold."""
    return f"I don't know the {name} architecture: describe its layers or steps and I'll draw them"


def nothing_to_draw(text: str) -> str | None:
    """Why a request with no structure and no catalogue entry holds nothing to draw (a
    question, chat, a key mash), or None when the model may try. A request with a word of
    the field (the block kinds, the catalogue's words, common process words) is tried."""
    seen = set(re.findall(r"[a-z][a-z0-9-]{2,}", text.lower()))
    known = seen & (_WORDS_ML | catalogue.alias_words() | catalogue.label_words())
    if known or any(kind_of(w) != "step" or _KIND_WORD.fullmatch(w) for w in seen):
        if _QUESTION.match(text) and not _DRAW.search(text):
            return "that is a question, not a diagram: describe a model or a process to draw"
        return None
    if (name := _NAME_WORD.search(text)) is not None:  # "draw ResNeXt", "StyleGAN", "T5"
        return unknown(name[0])
    return "I found nothing to draw here: describe a model's layers or a process's steps"


def named_spec(text: str) -> Spec | None:
    """The catalogue entry a request names (engine/catalogue), adapted to what it adds
    ("ResNet-18 for 3 classes"), as a spec: its structure, and its direction (part of how
    the entry is drawn), ahead of the candidate's style. A process description that mentions
    a name ("... an autoencoder that outputs reconstruction errors") or a chain of arrows is
    not a request for it."""
    if describes_flow(text) or len(re.findall(ARROW, text)) >= 2:
        return None  # "tiny unet: input -> down1 -> ...": the request states its own chain
    if _states_layers(text):
        return None  # "autoencoder for mnist: input 784, dense 256, dense 64, ...": its own
    entry = catalogue.find(text)
    if entry is None:
        return None
    sketch, _ = parse_sketch(catalogue.adapt(entry, text))
    if sketch is None:  # pragma: no cover - every entry parses (tests/test_catalogue.py)
        return None
    structure = f"{structure_text(sketch)}\ndirection: {sketch.direction}"
    return Spec("named", steps=sketch.steps, structure=structure, name=entry.name)


_SIZED_LAYER_KINDS = {"conv", "pool", "dense", "rnn", "embedding", "upsample", "attention"}


def _states_layers(text: str) -> bool:
    """Whether the request lists three or more sized layers of its own ("dense 256",
    "lstm 128", "conv 3x3 64"): then a name it mentions is no request for the catalogue's."""
    items = re.split(r"[,;\n]|->|→|\bthen\b", text.lower())
    sized = [i for i in items if re.search(r"\d", i) and kind_of(i.strip()) in _SIZED_LAYER_KINDS]
    return len(sized) >= 3


def spec_of(text: str) -> Spec | None:
    """The request's spec; BadRequest when it asks for more than a diagram draws.

    A network's wide layers are drawn collapsed (engine/diagram/layout.py), so "784 inputs"
    or 10,000 units are served; refused are a layer over layout.MAX_UNITS and more layers
    than MAX_NODES drawn nodes hold. A flow draws every step: at most MAX_NODES of them.
    """
    # What the request states wins over a name it mentions ("an LSTM: embedding 128, lstm 64,
    # dense 1" is that stack, not the catalogue's LSTM cell); a bare name is the entry.
    spec = extract_spec(text)
    if spec is None and (name := unknown_name(text) or _asks_for_variant(text)):
        raise BadRequest(unknown(name))
    spec = spec or named_spec(text)
    if spec is None and (why := nothing_to_draw(text)) is not None:
        raise BadRequest(why)
    if spec is not None and spec.kind == "network":
        try:
            check_layers(spec.layers)
        except DiagramError as e:
            raise BadRequest(f"the request is more than a diagram draws: {e}") from None
    elif spec is not None and len(spec.steps) > MAX_NODES:
        raise BadRequest(
            f"the request asks for {len(spec.steps)} steps; a diagram holds at most {MAX_NODES}"
        )
    return spec


GRAFTED = ("stack", "dataflow", "named", "graph")  # networks: the model copies the hint well
Reader = Callable[[str], Spec | None]  # a checked request -> its spec (BadRequest to refuse)


def model_reads(text: str) -> Spec | None:
    """A reader that leaves flows to the model: refuses what spec_of refuses and keeps a
    network's layers as the hint, but gives no steps hint and grafts nothing, so the model's
    own steps and edges are drawn (to measure what an adapter reads by itself)."""
    spec = spec_of(text)
    return spec if spec is not None and spec.kind == "network" else None


def grafted(text: str, spec: Spec | None) -> tuple[str, list[Problem]]:
    """The text to draw for a candidate: where the request states a structure the model
    does not write itself (GRAFTED: a stack, a data flow, a graph, a catalogue entry), that
    structure with the candidate's own style (direction, shape, colours, lines). The model
    decides taste, the reader the structure, so what the request says is what gets drawn. A
    candidate whose text has no usable style keeps the structure with the default style,
    and says so."""
    if spec is None or spec.kind not in GRAFTED:
        return text, []
    sketch, _ = parse_sketch(text) if looks_like_sketch(text) else (None, [])
    if sketch is None:
        note = Problem("default style", "the model wrote no usable sketch; default style used")
        return spec.structure, [note]
    style = style_text(sketch)
    if sketch.shape == "circle":  # these are boxes: circles are a network's units
        style = style.replace("shape: circle", "shape: round rectangle")
    return f"{spec.structure}\n{style}", []


def answer_start(spec: Spec | None) -> str:
    """The answer's start written for the model: the steps line of a grafted spec, whose
    structure replaces the model's in `grafted` (so forcing it changes no drawing's
    structure, only what the style is written after); '' otherwise (networks and step
    lists are written by the model, which reads some requests better than the hint)."""
    return prompt.steps_line(spec) if spec is not None and spec.kind in GRAFTED else ""


def read(gen: Generation, spec: Spec | None) -> Candidate:
    """Everything about one candidate short of ranking and rendering."""
    text, notes = grafted(gen.text, spec)
    wrote = Candidate(gen.text, gen, gen.finished, contradicts=True)  # nothing drawn yet
    try:
        result = to_diagram(text)
    except DiagramError as e:
        return replace(wrote, problems=[Problem("unreadable", str(e))])
    diagram = result.diagram
    if not diagram.nodes:
        return replace(wrote, problems=result.problems)
    found = validate(diagram)
    fid = fidelity(diagram, spec) if spec is not None else None
    return replace(
        wrote,
        diagram=diagram,
        node_text=to_text(diagram),
        problems=notes + result.problems + found,
        valid=not found,
        metrics=metrics(diagram),
        fidelity=fid,
        contradicts=spec is not None and not (fid is not None and fid.exact),
    )


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Readable candidates first; among them, those that contradict the spec go last, then
    invalid ones; then by geometric readability. Exact repeats of an earlier node list are
    moved to the end, so the top K shows K different diagrams when there are."""
    ordered = sorted(
        candidates,
        key=lambda c: (not c.parsed, c.contradicts, not c.valid, -c.readability),
    )
    seen: set[str] = set()
    first, repeats = [], []
    for c in ordered:
        (repeats if c.parsed and c.node_text in seen else first).append(c)
        seen.add(c.node_text)
    return first + repeats


def by_readability(top: int | None = None) -> Ranker:
    """The ranker without scorers: `rank`, then the first `top` readable ones drawn (None:
    all of them)."""

    def ranked(candidates: list[Candidate]) -> list[Candidate]:
        ordered = rank(candidates)
        keep = len(ordered) if top is None else top
        return [
            replace(c, png=render(c.diagram)) if c.parsed and i < keep else c
            for i, c in enumerate(ordered)
        ]

    return ranked


@dataclass
class Sampled:
    """What the model wrote for several requests (sample_many), before any of it is read."""

    texts: list[str]  # the descriptions, checked
    specs: list[Spec | None]
    prompts: list[str]  # up to the answer: with each generation's text, a training pair
    generations: list[list[Generation]]  # per request, n candidates
    model: str
    adapter: str | None
    started: float  # time.perf_counter() when sampling began
    generate_s: float


def sample_many(
    lm: LoadedModel,
    descriptions: list[str],
    n: int = 4,
    *,
    sampling: SamplingParams = DEFAULT,
    generator: Generator = fast.generate,
    reader: Reader = spec_of,
) -> Sampled:
    """The model's part of draw_many: n candidates for each description in one batch.

    Where the reader's structure is drawn anyway (answer_start), the answer starts with it
    and the model writes the rest, its style: a third of the tokens for a stack, and no
    structure cut off at the token limit. Each generation's text is the whole answer."""
    start = time.perf_counter()
    texts = [check(d) for d in descriptions]
    specs = [reader(t) for t in texts]
    prompts = [prompt.build(lm.tokenizer, t, s) for t, s in zip(texts, specs, strict=True)]
    starts = [answer_start(s) for s in specs]
    asked = [p + a for p, a in zip(prompts, starts, strict=True)]
    gens = [
        [replace(g, text=a + g.text) for g in batch]
        for a, batch in zip(starts, generator(lm, asked, n, sampling), strict=True)
    ]
    seconds = round(time.perf_counter() - start, 3)
    return Sampled(texts, specs, prompts, gens, lm.name, lm.adapter, start, seconds)


def read_many(
    sampled: Sampled, rankers: Sequence[Ranker], pool: Any | None = None
) -> list[DrawResult]:
    """The rest of draw_many, no model needed: read and validate every candidate, then each
    request's ranker orders them and draws the ones to show (the engine runs it off the
    model thread while the next batch samples, with each asking user's ranker).

    pool: an engine.scoring.workers.Pool: every candidate of the batch is read and drawn in
    its worker processes at once, and each ranker is called with them drawn too
    (ranker(candidates, drawn): user_rank.UserRanker takes that); "read" is then that
    shared time."""
    prepared: list[list[tuple[Candidate, Any]]] | None = None
    shared = 0.0
    if pool is not None:
        t0 = time.perf_counter()
        items = [(g, s) for s, batch in zip(sampled.specs, sampled.generations, strict=True)
                 for g in batch]  # fmt: skip
        flat = iter(pool.prepare(items))
        prepared = [[next(flat) for _ in batch] for batch in sampled.generations]
        shared = round(time.perf_counter() - t0, 3)
    results = []
    zipped = zip(
        sampled.texts, sampled.specs, sampled.prompts, sampled.generations, rankers, strict=True
    )
    for k, (text, spec, p, batch, ranker) in enumerate(zipped):
        t0 = time.perf_counter()
        if prepared is None:
            candidates = [read(g, spec) for g in batch]
            t1 = time.perf_counter()
            read_s = round(t1 - t0, 3)
            ordered = ranker(candidates)
        else:
            t1, read_s = t0, shared
            ordered = ranker([c for c, _ in prepared[k]], [d for _, d in prepared[k]])
        ranked = [replace(c, rank=i + 1) for i, c in enumerate(ordered)]
        timings = {
            "generate": sampled.generate_s,
            "read": read_s,
            "rank": round(time.perf_counter() - t1, 3),  # with drawing the shown ones
        }
        results.append(DrawResult(text, spec, p, ranked, timings, sampled.model, sampled.adapter))
    total = round(time.perf_counter() - sampled.started, 3)
    for r in results:
        r.timings["total"] = total
    return results


def draw_many(
    lm: LoadedModel,
    descriptions: list[str],
    n: int = 4,
    *,
    top: int | None = None,
    sampling: SamplingParams = DEFAULT,
    ranker: Ranker | None = None,
    with_png: bool = True,
    generator: Generator = fast.generate,
    reader: Reader = spec_of,
) -> list[DrawResult]:
    """Several requests in one generation batch; each result ranked, top K rendered.

    ranker: by_readability(top) when None (with_png=False: by_readability(0), ranked but
    none drawn, for the benchmarks); `diagrammer draw --user` gives the user's
    (engine/scoring/user_rank.py), which draws its own top K.

    generator: engine.llm.fast.generate (the default: static cache, CUDA graphs on a GPU, and
    the plain path when the model is not one it can run) or engine.llm.generate.generate.

    reader: spec_of (the default: the readers' spec as hint and grafted structure) or
    model_reads (the model's own reading of flows, for the benchmarks).
    """
    sampled = sample_many(
        lm, descriptions, n, sampling=sampling, generator=generator, reader=reader
    )
    ranker = ranker or by_readability(top if with_png else 0)
    return read_many(sampled, [ranker] * len(descriptions))


def draw(lm: LoadedModel, description: str, n: int = 4, **kwargs: object) -> DrawResult:
    """One request: n candidates, ranked (see draw_many for the keyword arguments)."""
    return draw_many(lm, [description], n, **kwargs)[0]
