"""A backend without a language model: real diagrams from a fixed list of styles.

It stands in for the LLM where none may run (tests, the bot's development, the CPU
benchmark) and does the rest of the real work: the structure comes from the numbers or
steps in the description, each candidate takes a style from STYLES, and then it is laid
out, rendered once (the PNG encoded from the drawing it scores), scored with cheap stand-ins
(geometric readability, a small image embedding, the user's kNN expected rating) and put
in order by the engine's own ordering (engine/scoring/rank.order). Every EVERY_INVALID-th
candidate is cut short, as a model that runs into its token limit would be, so invalid
candidates exist.

Its "adapter" is a JSON file of style weights; DemoTrainer's "ORPO" moves weight from the
rejected style of each preference pair to the chosen one, so the whole loop (ratings ->
pairs -> training -> evaluation -> gate -> promotion) runs in a second on a CPU.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.candidate import Candidate
from engine.diagram.fidelity import Fidelity
from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import RGB, DiagramError, Problem
from engine.diagram.render import encode_png, render_array
from engine.diagram.sketch import Sketch, parse_sketch, sketch_to_text
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from engine.scoring import rank
from engine.scoring.knn import expected_ratings
from engine.service.backend import Answer, Ask, Skipped, StageFn

SHAPES = ("circle", "round rectangle", "rectangle")
FILLS: tuple[RGB, ...] = ((173, 216, 230), (255, 224, 178))
LINES = ("solid arrow", "dashed line")
STYLES = [(s, f, ln) for s in SHAPES for f in FILLS for ln in LINES]
EVERY_INVALID = 5
EMBED_SIZE = (16, 10)  # the embedding: the render shrunk to 16 x 10 RGB
EMBEDDING_DIM = EMBED_SIZE[0] * EMBED_SIZE[1] * 3
ADAPTER_FILE = "adapter.json"
FAITHFUL = Fidelity(True, 1.0, "the structure is the request's")
UNFAITHFUL = Fidelity(False, 0.0, "nothing valid was drawn")
EVAL_DESCRIPTIONS = (
    "an MLP with 3 inputs, hidden layers of 5 and 4 and 2 outputs",
    "a network 2 4 6 1",
    "flowchart: load data, clean data, train model, evaluate",
    "a perceptron with 4 inputs and 1 output",
    "pipeline: collect, label, train, deploy, monitor",
    "a net with layers of 6, 8, 8 and 3",
)


class DemoBackend:
    def __init__(self, weights: Sequence[float] | None = None) -> None:
        self._version = "base"
        self._weights = _normalised(weights)

    @property
    def model_version(self) -> str:
        return self._version

    def use_adapter(self, version: str, adapter: str | None) -> None:
        self._weights = _normalised(None if adapter is None else read_adapter(Path(adapter)))
        self._version = version

    def refuse(self, description: str) -> str | None:
        return None

    def decoder_fallbacks(self) -> dict[str, int]:
        return {}  # the demo has no decoder

    def use_scorer(self, kind: str, folder: Path) -> None:
        """The demo scores with fixed functions; there is nothing to load."""

    def generate(self, asks: Sequence[Ask]) -> list[tuple[list[tuple[str, bool]], float]]:
        """Per ask, "the model's" sketches and the seconds they took."""
        out = []
        for ask in asks:
            t0 = time.perf_counter()
            out.append((self.sketches(ask.description, ask.candidates), time.perf_counter() - t0))
        return out

    def score(
        self,
        asks: Sequence[Ask],
        generated: list[tuple[list[tuple[str, bool]], float]],
        on_stage: StageFn,
    ) -> list[Answer | None]:
        return [
            None if a.withdrawn() else self._answer(a, *g, on_stage)
            for a, g in zip(asks, generated, strict=True)
        ]

    @property
    def dim(self) -> int:
        return EMBEDDING_DIM

    @property
    def blocks(self) -> None:
        return None  # the shrunk image is one block

    def embed(self, pngs: Sequence[bytes], node_lists: Sequence[str | None]) -> np.ndarray:
        """The shrunk pictures: the demo reads nothing from the node lists."""
        images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in pngs]
        return np.stack([_embed(img) for img in images]) if images else np.zeros((0, self.dim))

    def sketches(self, description: str, n: int) -> list[tuple[str, bool]]:
        """(text, ended by itself) of the n candidates "the model" writes: deterministic."""
        structure = structure_of(description)
        rng = np.random.default_rng(zlib.crc32(f"{self._version}|{description}".encode()))
        picks = rng.choice(len(STYLES), size=n, p=self._weights)
        texts = [sketch_to_text(_styled(structure, STYLES[i])) for i in picks]
        # A model cut at its token limit: the text stops inside the first line.
        return [
            (t[:7], False) if (i + 1) % EVERY_INVALID == 0 else (t, True)
            for i, t in enumerate(texts)
        ]

    def _answer(
        self, ask: Ask, texts: list[tuple[str, bool]], generate_s: float, on_stage: StageFn
    ) -> Answer:
        t1 = time.perf_counter()
        on_stage(ask.request_id, "ranking")
        once = {written: _draw(*written) for written in set(texts)}  # identical texts: draw once
        drawn = [once[written] for written in texts]
        t2 = time.perf_counter()
        embeddings = [_embed(image) if image is not None else None for _, image in drawn]
        scored = _scored(ask, [c for c, _ in drawn], embeddings)
        order = rank.order(scored, len(ask.ratings), ask.top)
        structure = structure_of(ask.description)
        spec = {"kind": "network", "layers": list(structure.layers)} if structure.layers else None
        return Answer(
            prompt=f"Write the diagram sketch.\n{ask.description}",
            spec=spec,
            candidates=[scored[i] for i in order],
            timings={
                "generate_s": generate_s,
                "render_s": t2 - t1,
                "rank_s": time.perf_counter() - t2,
            },
        )


class DemoTrainer:
    """ORPO and evaluation for DemoBackend's style-weight adapters."""

    def __init__(self, step: float = 0.5) -> None:
        self.step = step

    def orpo(self, pairs: Path, base_adapter: str | None, out_dir: Path) -> dict[str, Any]:
        base = None if base_adapter is None else read_adapter(Path(base_adapter))
        logits = np.log(_normalised(base))
        used = 0
        for line in pairs.read_text(encoding="utf-8").splitlines():
            pair = json.loads(line)
            chosen, rejected = style_of(pair["chosen"]), style_of(pair["rejected"])
            if chosen is not None and rejected is not None and chosen != rejected:
                logits[chosen] += self.step
                logits[rejected] -= self.step
                used += 1
        weights = np.exp(logits - logits.max())
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ADAPTER_FILE).write_text(json.dumps({"weights": weights.tolist()}))
        return {"pairs_used": used}

    def evaluate(self, adapter: str | None, seed: int = 0) -> dict[str, float]:
        backend = DemoBackend()
        backend.use_adapter("eval", adapter)
        texts = [t for d in EVAL_DESCRIPTIONS for t in backend.sketches(d, 8)]
        once = {written: _draw(*written)[0] for written in set(texts)}
        drawn = [once[written] for written in texts]
        valid = [c for c in drawn if c.valid]
        shapes = [style_of(c.text) for c in valid]
        return {
            "parse_valid": len(valid) / len(drawn),
            "natural_stop": sum(bool(c.natural_stop) for c in drawn) / len(drawn),
            "top1_exact": 1.0,  # the structure is copied from the request
            "readability": float(np.mean([c.readability for c in valid])) if valid else 0.0,
            **{
                f"share_{name.replace(' ', '_')}": sum(
                    s is not None and STYLES[s][0] == name for s in shapes
                )
                / max(1, len(shapes))
                for name in SHAPES
            },
        }

    def autoencoder(
        self, images: list[Path], node_lists: list[str | None], out_dir: Path
    ) -> Skipped:
        return Skipped("the demo embeds shrunk images; it has no auto-encoder")

    def cnn(self, samples: list[tuple[Path, float]], base: Path | None, out_dir: Path) -> Skipped:
        return Skipped("the demo scores readability geometrically; it has no CNN")


def structure_of(description: str) -> Sketch:
    """Layers from the numbers in the description, else steps from its comma-separated parts."""
    numbers = [int(n) for n in re.findall(r"\b\d{1,2}\b", description) if 0 < int(n) <= 12]
    if len(numbers) >= 2:
        return Sketch(layers=tuple(numbers[:6]))
    tail = description.split(":", 1)[-1]
    steps = [s.strip() for s in re.split(r",|\bthen\b|\band\b", tail) if s.strip()]
    if len(steps) >= 2:
        return Sketch(steps=tuple(s[:24] for s in steps[:8]))
    return Sketch(layers=(2, 3, 1))


def style_of(text: str) -> int | None:
    """Index in STYLES of a sketch's style, None when unreadable or not one of ours."""
    sketch, _ = parse_sketch(text)
    if sketch is None:
        return None
    key = (sketch.shape, sketch.fill, sketch.line_style)
    return STYLES.index(key) if key in STYLES else None


def read_adapter(folder: Path) -> list[float]:
    return json.loads((folder / ADAPTER_FILE).read_text(encoding="utf-8"))["weights"]


def _normalised(weights: Sequence[float] | None) -> np.ndarray:
    w = np.ones(len(STYLES)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(STYLES),) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"adapter weights must be {len(STYLES)} non-negative numbers")
    return w / w.sum()


def _styled(structure: Sketch, style: tuple) -> Sketch:
    shape, fill, line = style
    width = 44 if shape == "circle" and structure.layers else 90 if structure.layers else 150
    return Sketch(
        layers=structure.layers,
        steps=structure.steps,
        direction="right",
        shape=shape,
        size=(width, 44),
        fill=fill,
        line_style=line,
        line_color=(40, 40, 40),
    )


def _draw(text: str, natural: bool) -> tuple[Candidate, np.ndarray | None]:
    """Read, lay out, validate and render one text (its PNG from that one drawing). The
    structure is the request's own, so a valid drawing is faithful to it: fidelity 1."""
    wrote = Candidate(text, natural_stop=natural, fidelity=UNFAITHFUL, contradicts=True)
    try:
        sketch, read_problems = parse_sketch(text)
        if sketch is None:
            raise DiagramError(read_problems[0].why if read_problems else "nothing to read")
        diagram = layout(sketch)
    except DiagramError as e:
        return replace(wrote, problems=[Problem("unreadable", str(e))]), None
    problems = read_problems + validate(diagram)
    image = render_array(diagram)
    valid = not problems
    drawn = replace(
        wrote,
        diagram=diagram,
        node_text=to_text(diagram),
        problems=problems,
        valid=valid,
        metrics=metrics(diagram),
        fidelity=FAITHFUL if valid else UNFAITHFUL,
        contradicts=not valid,
        png=encode_png(image),
    )
    return drawn, image


def _embed(image: np.ndarray) -> np.ndarray:
    small = cv2.resize(image, EMBED_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    # Scaled so that two unrelated diagrams lie about 1 apart, as knn.py expects.
    return (255.0 - small.reshape(-1)) / (255.0 * np.sqrt(small.size) * 0.15)


def _scored(ask: Ask, drawn: list[Candidate], embeddings: list) -> list[Candidate]:
    """The candidates with the demo's cheap scores: readability (the geometric one on the
    CNN's 0..5 scale), the shrunk picture as the embedding, the user's kNN expected rating."""
    cnn = [5 * c.readability if c.parsed else 0.0 for c in drawn]
    present = [i for i, e in enumerate(embeddings) if e is not None]
    expected = [1.0 + 0.8 * s for s in cnn]  # the prior: what the readability suggests
    confidence = [0.0] * len(drawn)
    if present and len(ask.ratings):
        matrix = np.stack([embeddings[i] for i in present])
        prior = np.array([expected[i] for i in present])
        known = np.nan_to_num(ask.rated_readability, nan=float(np.mean(cnn)))
        got = expected_ratings(ask.rated, ask.ratings, matrix, prior, 1.0 + 0.8 * known)
        for j, i in enumerate(present):
            expected[i] = float(got.rating[j])
            confidence[i] = float(got.confidence[j])
    return [
        replace(
            c,
            cnn_readability=cnn[i] if c.parsed else None,
            expected_rating=expected[i],
            confidence=confidence[i],
            embedding=embeddings[i],
        )
        for i, c in enumerate(drawn)
    ]
