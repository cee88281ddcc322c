"""Simulated users for `diagrammer bench personalization`: hidden tastes, noisy ratings.

The language model may not be trained yet, so a request's candidates come from the
synthetic data generator (training/data): one structure per request (an MLP, a layer-block
diagram or a flowchart, as synth.answer draws them) drawn in CANDIDATES styles
(styles.choose_style: direction, shape, size, fill, line style and colour), and a quarter of
the candidates degraded (training/data/degrade.py) as a careless model's would be.

The pool spreads wider than the generator's curated styles, as people's diagrams and
tastes do: half the candidates get a continuous fill colour (any CIE LCh lightness, chroma
and hue in the sRGB gamut) and a third a line colour of any lightness, pale greys
included; half the candidates of a network switch its labels on or off.

A user belongs to one taste FAMILY, drawn in turn, and has a hidden taste in it over the
candidate's Look:

- classic: five attributes (node shape, palette = fill colour family and a liking or not
  for dark fills, line style, density = log share of the canvas covered by nodes,
  orientation), each with an importance (Dirichlet(0.7): most users care about one or two
  things) and per-level utilities ~ N(0, 1) (a slope for density);
- colour: a smooth function of the fill in LCh: slopes on L* and C* and a preferred hue;
- lines: line lightness (pale or dark lines) and line style;
- labels: labels present or not, and their size;
- kind: a shape utility per diagram kind (network, layer stack, flow): "circles for
  networks, rectangles for flows";
- kind-dir: a direction utility per diagram kind: "top-down flows, left-right networks";
- contrast: only the lightness contrast between fill and lines (colour-blind-like);
- size: node size and how much of the canvas the diagram uses;
- flat: near-indifferent, a classic taste at FLAT_SD stars: ratings follow readability.

The weighted sum is scaled over the pool to a standard deviation of TASTE_SD stars (FLAT_SD
for flat). The true rating of a candidate is

    true = clip(BASE + taste + QUALITY * (readability - 1), 1, 5)

with readability the geometric score (engine/diagram/metrics.py), and what the user gives is
that plus Gaussian noise (NOISE_SD), rounded to a whole star 1..5.

Protocol, per user: rounds of request -> CANDIDATES candidates -> the ranker
(engine/scoring/rank.py with knn.py's expected ratings) shows the top SHOWN -> the user rates
all of them -> the profile grows. When the profile first reaches each checkpoint n, the
ranker with the first n ratings is judged on EVAL_REQUESTS held-out requests: the true
rating of its top-1 against a random pick (the candidates' mean), the readability-only
ranking (CNN) and the oracle (the best candidate); and the pairwise accuracy of the expected
rating against the true rating, over candidate pairs of one request whose true ratings
differ by at least PAIR_GAP; overall and per taste family.

Everyone's ratings: before the judged users arrive, POPULATION_USERS other simulated users
(hidden tastes of their own, another seed) go through the same rounds on the training
requests, ranked with nothing learnt yet; their POPULATION_RATINGS ratings each, with the
priors and the expected ratings they were shown with (what the store keeps), are all that
engine/scoring/population.py learns the knn.Population from. Hidden tastes never leave User.

The embedding is the engine's: the auto-encoder embedding of the render followed by the
node list's content blocks (engine/scoring/content.py); image_only() drops the latter.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from tqdm import tqdm

from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram
from engine.diagram.render import render_array
from engine.scoring import cnn, content, knn, neighbours
from engine.scoring.autoencoder import Embedder
from engine.scoring.population import History
from engine.scoring.rank import Ranked, rank
from training.data.degrade import KINDS as DEGRADATIONS
from training.data.degrade import degrade
from training.data.styles import FILLS, choose_style
from training.data.synth import KIND_WEIGHTS, LABEL_SETS, answer
from training.data.synth import KINDS as SYNTH_KINDS

CANDIDATES, SHOWN = 8, 3
CHECKPOINTS = (1, 5, 10, 20, 50)
EVAL_REQUESTS = 20
DEGRADED_SHARE = 0.25
BASE, QUALITY, TASTE_SD, NOISE_SD = 3.2, 3.0, 1.0, 0.5
PAIR_GAP = 0.5
POPULATION_USERS, POPULATION_RATINGS = 100, 50
ATTRIBUTES = ("shape", "palette", "line", "density", "orientation")
FAMILIES = ("classic", "colour", "lines", "labels", "kind", "kind-dir", "contrast", "size", "flat")
FLAT_SD = 0.15  # stars: a near-indifferent user's taste
CONTINUOUS_FILL, FREE_LINE = 0.5, 1 / 3  # shares of candidates with a colour off the palette
KINDS_SHOWN = {"mlp": "network", "blocks": "stack", "flow": "flow"}  # synth's kinds
SHAPE_NAMES = ("circle", "round rectangle", "rectangle")


@dataclass(frozen=True)
class Look:
    """The visual attributes a simulated taste reads (of the node list as drawn)."""

    shape: str
    palette: str  # fill colour family, "dark " + family for dark fills, "other" off it
    line: str
    density: float  # log share of the canvas covered by node boxes
    orientation: str
    kind: str = "network"  # network | stack | flow (what the generator drew)
    fill: tuple[int, int, int] = (255, 255, 255)
    line_colour: tuple[int, int, int] = (0, 0, 0)
    labelled: float = 0.0  # share of nodes with a label
    node_area: float = 0.0  # log median node box area, share of the canvas
    canvas_use: float = 0.0  # log share of the canvas the nodes' bounding box spans


@dataclass
class Pool:
    """Candidates of many requests, scored once and shared by every simulated user."""

    requests: list[list[int]]  # candidate indices per request
    looks: list[Look]
    readability: np.ndarray  # geometric, 0..1
    cnn: np.ndarray  # CNN readability, 0..5
    embeddings: np.ndarray
    blocks: tuple[slice, ...]  # the embedding's blocks (content.blocks of the image ones)
    keys: list[tuple] = field(default_factory=list)  # node lists, for duplicate detection
    image: np.ndarray | None = None  # the image embedding alone (Embedder.embed)
    image_blocks: tuple[slice, ...] = ()
    cache: dict = field(default_factory=dict, repr=False)  # features(looks), once

    @property
    def features(self) -> dict[str, np.ndarray]:
        """The candidates' Look attributes as arrays (features())."""
        if "features" not in self.cache:
            self.cache["features"] = features(self.looks)
        return self.cache["features"]

    @property
    def prior(self) -> np.ndarray:
        """What anyone would give each candidate: the CNN readability on the rating scale."""
        return cnn.target_to_rating(self.cnn).astype(np.float64)


def _fill_families() -> dict[tuple[int, int, int], str]:
    out = {}
    for family, (light, dark) in FILLS.items():
        out |= {c: family for c in light} | {c: f"dark {family}" for c in dark}
    return out


def _free_colour(
    rng: random.Random, lightness: tuple[float, float], chroma: tuple[float, float]
) -> tuple[int, int, int]:
    """An sRGB colour of random CIE L*, C* (in these ranges) and hue, clipped to the gamut."""
    light, c, h = rng.uniform(*lightness), rng.uniform(*chroma), rng.uniform(0, 2 * np.pi)
    lab_ = np.array([[[light, c * np.cos(h), c * np.sin(h)]]], np.float32)
    rgb = cv2.cvtColor(lab_, cv2.COLOR_Lab2RGB)[0, 0]
    return tuple(int(v) for v in np.clip(np.round(rgb * 255), 0, 255))  # type: ignore[return-value]


def lch(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """CIE L* (0..100), C* and hue angle (radians) of an sRGB colour."""
    pixel = np.array(rgb, np.float32).reshape(1, 1, 3) / 255.0
    light, a, b = cv2.cvtColor(pixel, cv2.COLOR_RGB2Lab)[0, 0].astype(np.float64)
    return float(light), float(np.hypot(a, b)), float(np.arctan2(b, a))


def _look(d: Diagram, shape: str, palette: str, line: str, direction: str, kind: str) -> Look:
    nodes = [n for n in d.nodes if n.width > 0 and n.height > 0] or list(d.nodes)
    canvas = CANVAS_W * CANVAS_H
    area = sum(n.width * n.height for n in nodes) / canvas
    x0, x1 = min(n.x - n.width / 2 for n in nodes), max(n.x + n.width / 2 for n in nodes)
    y0, y1 = min(n.y - n.height / 2 for n in nodes), max(n.y + n.height / 2 for n in nodes)
    span = min(x1 - x0, CANVAS_W) * min(y1 - y0, CANVAS_H) / canvas
    return Look(
        shape=shape,
        palette=palette,
        line=line,
        density=float(np.log(max(area, 1e-6))),
        orientation=direction,
        kind=kind,
        fill=Counter(n.fill for n in nodes).most_common(1)[0][0],
        line_colour=Counter(n.line_color for n in nodes).most_common(1)[0][0],
        labelled=sum(bool(n.label.strip()) for n in nodes) / len(nodes),
        node_area=float(np.log(np.median([n.width * n.height for n in nodes]) / canvas)),
        canvas_use=float(np.log(max(span, 1e-4))),
    )


def features(looks: Sequence[Look]) -> dict[str, np.ndarray]:
    """The Looks' attributes as arrays: what the taste families and the ideal embedding read."""
    fills = np.array([lch(look.fill) for look in looks])
    lines = np.array([lch(look.line_colour)[0] for look in looks])
    return {
        "L": fills[:, 0],
        "C": fills[:, 1],
        "hue": fills[:, 2],
        "line L": lines,
        "contrast": np.abs(fills[:, 0] - lines),
        "dashed": np.array([look.line == "dashed line" for look in looks], float),
        "arrow": np.array([look.line == "solid arrow" for look in looks], float),
        "labelled": np.array([look.labelled for look in looks]),
        "kind": np.array([("network", "stack", "flow").index(look.kind) for look in looks]),
        "down": np.array([look.orientation == "down" for look in looks], float),
        "shape": np.array([SHAPE_NAMES.index(look.shape) for look in looks]),
        "node area": np.array([look.node_area for look in looks]),
        "canvas use": np.array([look.canvas_use for look in looks]),
        "density": np.array([look.density for look in looks]),
    }


def build_pool(
    n_requests: int,
    embedder: Embedder,
    model: cnn.ReadabilityCNN,
    seed: int,
    progress: bool = True,
    n_candidates: int = CANDIDATES,
) -> Pool:
    rng = random.Random(seed)
    families = _fill_families()
    diagrams: list[Diagram] = []
    looks: list[Look] = []
    requests: list[list[int]] = []
    bar = tqdm(total=n_requests * n_candidates, desc="candidates", disable=not progress)
    for _ in range(n_requests):
        synth_kind = rng.choices(SYNTH_KINDS, weights=KIND_WEIGHTS)[0]
        base = answer(rng, synth_kind).sketch
        requests.append([])
        for _ in range(n_candidates):
            s = choose_style(rng, base.kind)
            fill = (
                _free_colour(rng, (25, 97), (0, 70)) if rng.random() < CONTINUOUS_FILL else s.fill
            )
            line = _free_colour(rng, (0, 80), (0, 40)) if rng.random() < FREE_LINE else s.line_color
            labels = base.labels
            if base.layers and rng.random() < 0.5:  # labels on or off, candidate by candidate
                labels = () if base.labels else tuple(LABEL_SETS[1](len(base.layers)))
            sketch = replace(
                base,
                labels=labels, direction=s.direction, shape=s.shape, size=s.size, fill=fill,
                line_style=s.line_style, line_color=line,
            )  # fmt: skip
            d = layout(sketch)
            if rng.random() < DEGRADED_SHARE:
                d = degrade(d, rng.choice(DEGRADATIONS), rng)
            requests[-1].append(len(diagrams))
            diagrams.append(d)
            looks.append(_look(d, s.shape, families.get(fill, "other"), s.line_style,
                               s.direction, KINDS_SHOWN[synth_kind]))  # fmt: skip
            bar.update()
    bar.close()
    images = [render_array(d) for d in diagrams]
    image = embedder.embed(images)
    return Pool(
        requests=requests,
        looks=looks,
        readability=np.array([metrics(d).readability for d in diagrams]),
        cnn=cnn.score_images(model, images),
        embeddings=content.combine(image, embedder.blocks, diagrams),
        blocks=content.blocks(embedder.blocks),
        keys=[d.nodes for d in diagrams],
        image=image,
        image_blocks=embedder.blocks,
    )


def image_only(pool: Pool) -> Pool:
    """The pool with the auto-encoder embedding alone (no content blocks)."""
    if pool.image is None:
        raise ValueError("this pool keeps no image embedding")
    return replace(pool, embeddings=pool.image, blocks=pool.image_blocks)


@dataclass(frozen=True)
class User:
    """A hidden taste (see the module docstring); true() and rate() judge pool candidates."""

    taste: np.ndarray  # per pool candidate, in stars, mean 0, sd TASTE_SD
    quality: np.ndarray  # per pool candidate: QUALITY * (readability - 1)
    family: str = "classic"

    def true(self, idx: np.ndarray | list[int]) -> np.ndarray:
        return np.clip(BASE + self.taste[idx] + self.quality[idx], 1.0, 5.0)

    def rate(self, i: int, rng: np.random.Generator) -> float:
        return float(np.clip(np.round(self.true([i])[0] + rng.normal(0, NOISE_SD)), 1, 5))


def make_user(pool: Pool, rng: np.random.Generator, family: str = "classic") -> User:
    """A user of one taste family (see the module docstring), standardised over the pool."""
    raw = TASTES[family](pool, rng)
    sd = FLAT_SD if family == "flat" else TASTE_SD
    taste = sd * (raw - raw.mean()) / (raw.std() + 1e-9)
    return User(taste, QUALITY * (pool.readability - 1.0), family)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def _classic(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    importance = dict(zip(ATTRIBUTES, rng.dirichlet([0.7] * len(ATTRIBUTES)), strict=True))
    likes: dict[str, dict[str, float]] = {a: {} for a in ATTRIBUTES if a != "density"}
    dark_liking = rng.normal(0, 0.7)
    slope = rng.normal(0, 1)
    dz = _z(np.array([look.density for look in pool.looks]))

    def like(attribute: str, level: str) -> float:
        if level not in likes[attribute]:
            likes[attribute][level] = float(rng.normal(0, 1))
        return likes[attribute][level]

    return np.array(
        [
            importance["shape"] * like("shape", look.shape)
            + importance["palette"]
            * (
                like("palette", look.palette.removeprefix("dark "))
                + dark_liking * ("dark" in look.palette)
            )
            + importance["line"] * like("line", look.line)
            + importance["density"] * slope * z
            + importance["orientation"] * like("orientation", look.orientation)
            for look, z in zip(pool.looks, dz, strict=True)
        ]
    )


def _colour(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Slopes on fill lightness and chroma, and a preferred hue (felt as the colour is)."""
    f = pool.features
    a, b, c = rng.normal(0, 1, 3)
    hue = f["C"] / (f["C"] + 10) * np.cos(f["hue"] - rng.uniform(0, 2 * np.pi))
    return a * _z(f["L"]) + b * _z(f["C"]) + 1.5 * c * _z(hue)


def _lines(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Pale or dark lines above all, and a little the line style."""
    f = pool.features
    sign = rng.choice([-1.0, 1.0])
    return (
        2 * sign * _z(f["line L"])
        + rng.normal(0, 0.7) * f["dashed"]
        + rng.normal(0, 0.7) * f["arrow"]
    )


def _labels(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Labels wanted (or not), whatever else the diagram is."""
    return rng.choice([-1.0, 1.0]) * pool.features["labelled"]


def _kind(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """A shape utility per kind: circles for networks, rectangles for flows, or the like."""
    f = pool.features
    likes = rng.normal(0, 1, (3, 3))
    return likes[f["kind"], f["shape"]]


def _kind_direction(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Top-down or left-right, by kind: top-down flows, left-right networks, or the like."""
    f = pool.features
    return rng.normal(0, 1, 3)[f["kind"]] * (2 * f["down"] - 1)


def _contrast(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Colour-blind-like: only the lightness contrast between fill and lines counts."""
    return pool.features["contrast"]


def _size(pool: Pool, rng: np.random.Generator) -> np.ndarray:
    """Node size and how much of the canvas the diagram spans."""
    f = pool.features
    a, b = rng.normal(0, 1, 2)
    return a * _z(f["node area"]) + b * _z(f["canvas use"])


TASTES: dict[str, Callable[[Pool, np.random.Generator], np.ndarray]] = {
    "classic": _classic,
    "colour": _colour,
    "lines": _lines,
    "labels": _labels,
    "kind": _kind,
    "kind-dir": _kind_direction,
    "contrast": _contrast,
    "size": _size,
    "flat": _classic,
}


def taste(
    pool: Pool, profile: list[int], ratings: list[float], population: knn.Population | None = None
) -> knn.Taste:
    """The user's fitted taste (knn.fit) from the pool candidates they rated."""
    rated, prior = pool.embeddings[profile], pool.prior[profile]
    return knn.fit(rated, np.array(ratings), prior, pool.blocks, population)


def ranked(pool: Pool, fitted: knn.Taste, cands: list[int]) -> tuple[list[int], np.ndarray]:
    """The ranker's order of `cands` (pool indices), and their expected ratings."""
    exp = knn.predict(fitted, pool.embeddings[cands], pool.prior[cands]).rating
    items = [
        Ranked(float(pool.cnn[c]), float(e), embedding=pool.embeddings[c], key=pool.keys[c])
        for c, e in zip(cands, exp, strict=True)
    ]
    return [cands[i] for i in rank(items, fitted.n, top_k=SHOWN)], exp


@dataclass
class Checkpoint:
    top1: dict[str, list[float]] = field(
        default_factory=lambda: {k: [] for k in ("random", "readability", "ranker", "oracle")}
    )
    agree: list[float] = field(default_factory=list)  # pairwise, expected rating vs true
    agree_taste: list[float] = field(default_factory=list)  # the same, pairs of clean ones
    agree_readability: list[float] = field(default_factory=list)  # CNN readability vs true

    @classmethod
    def merged(cls, parts: Sequence[Checkpoint]) -> Checkpoint:
        out = cls()
        for p in parts:
            for k, v in p.top1.items():
                out.top1[k] += v
            out.agree += p.agree
            out.agree_taste += p.agree_taste
            out.agree_readability += p.agree_readability
        return out


def evaluate(
    pool: Pool, user: User, fitted: knn.Taste, eval_requests: list[int], out: Checkpoint
) -> None:
    for r in eval_requests:
        cands = pool.requests[r]
        true = user.true(cands)
        order, exp = ranked(pool, fitted, cands)
        out.top1["random"].append(float(true.mean()))
        out.top1["readability"].append(float(true[int(np.argmax(pool.cnn[cands]))]))
        out.top1["ranker"].append(float(true[cands.index(order[0])]))
        out.top1["oracle"].append(float(true.max()))
        clean = pool.readability[cands] >= 0.9
        for i in range(len(cands)):
            for j in range(i + 1, len(cands)):
                if abs(true[i] - true[j]) >= PAIR_GAP:
                    ok = _agrees(exp[i] - exp[j], true[i] - true[j])
                    out.agree.append(ok)
                    cnn_says = pool.cnn[cands[i]] - pool.cnn[cands[j]]
                    out.agree_readability.append(_agrees(cnn_says, true[i] - true[j]))
                    if clean[i] and clean[j]:
                        out.agree_taste.append(ok)


def _agrees(said: float, truth: float) -> float:
    """1 when the signs agree, 0 when not; a tie is a coin flip: half right."""
    return 0.5 if said == 0 else float(np.sign(said) == np.sign(truth))


def simulate(
    pool: Pool,
    n_users: int,
    seed: int,
    progress: bool = True,
    n_eval: int = EVAL_REQUESTS,
    checkpoints: tuple[int, ...] = CHECKPOINTS,
    population: knn.Population | None = None,
    families: Sequence[str] = FAMILIES,
) -> dict:
    """Every user's rounds (see the module docstring); the first n_eval requests are held out.
    User u has taste family families[u % len(families)]; rows pool every family, "families"
    holds each family's own rows."""
    rng = np.random.default_rng(seed)
    eval_requests = list(range(n_eval))
    train_requests = np.arange(n_eval, len(pool.requests))
    points = {f: {n: Checkpoint() for n in checkpoints} for f in families}
    counts = Counter()
    for u in tqdm(range(n_users), desc="users", disable=not progress):
        family = families[u % len(families)]
        counts[family] += 1
        user = make_user(pool, rng, family)
        todo = list(checkpoints)
        rounds = _rounds(pool, user, rng, rng.permutation(train_requests), population)
        for profile, ratings, _, round_over in rounds:
            if todo and len(profile) == todo[0]:
                fitted = taste(pool, profile, ratings, population)
                evaluate(pool, user, fitted, eval_requests, points[family][todo.pop(0)])
            if not todo and round_over:
                break
    pooled = {n: Checkpoint.merged([points[f][n] for f in families]) for n in checkpoints}
    out = summarise(pooled, n_users)
    out["families"] = {
        f: summarise(points[f], counts[f])["rows"] for f in families if counts[f] > 0
    }
    out["family_users"] = dict(counts)
    return out


def everyone(
    pool: Pool,
    n_users: int = POPULATION_USERS,
    seed: int = 1,
    n_ratings: int = POPULATION_RATINGS,
    n_eval: int = EVAL_REQUESTS,
    families: Sequence[str] = FAMILIES,
) -> list[History]:
    """Other users' rating histories (see the module docstring), for population.learn()."""
    rng = np.random.default_rng(seed)
    train_requests = np.arange(n_eval, len(pool.requests))
    out = []
    for u in range(n_users):
        user = make_user(pool, rng, families[u % len(families)])
        shown: list[float] = []
        rounds = _rounds(pool, user, rng, rng.permutation(train_requests))
        for profile, ratings, expected, _ in rounds:
            shown.append(expected)
            if len(profile) >= n_ratings:
                rated, prior = pool.embeddings[profile], pool.prior[profile]
                out.append(History(rated, np.array(ratings), prior, np.array(shown)))
                break
    return out


def _rounds(
    pool: Pool,
    user: User,
    rng: np.random.Generator,
    requests: Iterable[int],
    population: knn.Population | None = None,
) -> Iterator[tuple[list[int], list[float], float, bool]]:
    """A user's rounds on these requests: after each rating, (the profile and ratings so far,
    the expected rating the rated candidate was shown with, whether the round is over)."""
    profile: list[int] = []
    ratings: list[float] = []
    for r in requests:
        cands = pool.requests[r]
        order, expected = ranked(pool, taste(pool, profile, ratings, population), cands)
        for k, c in enumerate(order[:SHOWN]):
            profile.append(c)
            ratings.append(user.rate(c, rng))
            yield profile, ratings, float(expected[cands.index(c)]), k == SHOWN - 1


def summarise(points: dict[int, Checkpoint], n_users: int) -> dict:
    rows = []
    for n, p in points.items():
        if not p.top1["random"]:
            continue
        mean = {k: float(np.mean(v)) for k, v in p.top1.items()}
        gap = mean["oracle"] - mean["random"]
        rows.append(
            {
                "ratings": n,
                "top1": mean,
                "gap_closed": (mean["ranker"] - mean["random"]) / gap if gap > 0 else float("nan"),
                "gap_closed_readability": (mean["readability"] - mean["random"]) / gap
                if gap > 0
                else float("nan"),
                "pairwise_accuracy": float(np.mean(p.agree)) if p.agree else float("nan"),
                "pairwise_accuracy_clean_pairs": float(np.mean(p.agree_taste))
                if p.agree_taste
                else float("nan"),
                "pairwise_accuracy_readability": float(np.mean(p.agree_readability))
                if p.agree_readability
                else float("nan"),
                "pairs": len(p.agree),
            }
        )
    return {"users": n_users, "rows": rows}


def with_true_attributes(pool: Pool) -> Pool:
    """The pool with embeddings replaced by the users' own attributes, one block each
    (one-hot levels at 0.3, standardised numbers at 0.1 per sd: one kNN bandwidth): what the
    ranker would learn from a perfect embedding. The bench reports it as a ceiling."""
    looks, f = pool.looks, pool.features
    columns = {
        "shape": [look.shape for look in looks],
        "palette": [look.palette.removeprefix("dark ") for look in looks],
        "dark": ["dark" in look.palette for look in looks],
        "line": [look.line for look in looks],
        "orientation": [look.orientation for look in looks],
        "kind": [look.kind for look in looks],
        "kind x shape": [(look.kind, look.shape) for look in looks],
        "kind x direction": [(look.kind, look.orientation) for look in looks],
    }
    parts = [_one_hot(v) for v in columns.values()]
    hue = f["C"] / (f["C"] + 10)
    numbers = {
        "density": [f["density"]],
        "fill": [f["L"], f["C"]],
        "hue": [hue * np.cos(f["hue"]), hue * np.sin(f["hue"])],
        "line L": [f["line L"]],
        "contrast": [f["contrast"]],
        "labels": [f["labelled"]],
        "size": [f["node area"], f["canvas use"]],
    }
    parts += [
        0.1 * np.column_stack([_z(np.asarray(x, float)) for x in v]) for v in numbers.values()
    ]
    stops = np.cumsum([0] + [p.shape[1] for p in parts])
    blocks = tuple(slice(int(a), int(b)) for a, b in zip(stops, stops[1:], strict=False))
    return replace(pool, embeddings=np.hstack(parts).astype(np.float32), blocks=blocks)


def _one_hot(values: list) -> np.ndarray:
    levels = sorted(set(values), key=str)
    return 0.3 * np.array([[v == level for level in levels] for v in values], np.float64)


SPEED_RATINGS = (10, 100, 1000)
NEW_RATINGS = 3  # a request's shown candidates, rated before the user asks again


def knn_speed(
    pool: Pool,
    population: knn.Population | None = None,
    sizes: Sequence[int] = SPEED_RATINGS,
    seed: int = 0,
    repeats: int = 10,
) -> list[dict]:
    """Per profile size n: milliseconds of knn.fit and of ranking one request's candidates
    (knn.predict then rank.rank) for a user with n ratings (pool embeddings plus a little
    noise), and the whole per candidate, in three cases: the first request the engine sees
    from this user (nothing kept: knn.fit finds every neighbour list), the first after the
    user rated NEW_RATINGS more (the lists of the n - NEW_RATINGS before are kept and
    extended: the usual request) and a repeat with the same ratings (the fit is kept). Each
    the fastest of `repeats` runs, in CPU time of this process: the machine is shared, and
    its wall clock counts the others' work too."""
    rng = np.random.default_rng(seed)
    cands = pool.requests[0]
    out = []
    for n in sizes:
        idx = rng.integers(0, len(pool.looks), n)
        noise = rng.normal(0, 0.01, (n, pool.embeddings.shape[1]))
        rated = (pool.embeddings[idx] + noise).astype(np.float32)
        ratings = rng.integers(1, 6, n).astype(float)
        prior = pool.prior[idx]
        user = (rated, ratings, prior)
        row: dict = {"ratings": n, "candidates": len(cands)}
        for case in ("first", "after_new_ratings", "repeat"):
            best = (np.inf, np.inf)
            for _ in range(repeats):
                if case != "repeat":
                    neighbours.clear()
                if case == "after_new_ratings":
                    _timed_request(pool, user, n - NEW_RATINGS, cands, population)
                got = _timed_request(pool, user, n, cands, population)
                best = min(best, got, key=sum)
            row[case] = {
                "fit_ms": round(best[0] * 1e3, 2),
                "rank_ms": round(best[1] * 1e3, 2),
                "ms_per_candidate": round(sum(best) * 1e3 / len(cands), 3),
            }
        out.append(row)
    neighbours.clear()
    return out


def _timed_request(
    pool: Pool,
    user: tuple[np.ndarray, np.ndarray, np.ndarray],
    m: int,
    cands: list[int],
    population: knn.Population | None,
) -> tuple[float, float]:
    """CPU seconds to fit the user's first m ratings (embeddings, ratings, priors), to rank."""
    rated, ratings, prior = user
    start = time.process_time()
    fitted = knn.fit(rated[:m], ratings[:m], prior[:m], pool.blocks, population)
    fit = time.process_time()
    ranked(pool, fitted, cands)
    return fit - start, time.process_time() - fit


def plot(result: dict, path: str, log: Callable[[str], None] = print) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    n = [r["ratings"] for r in rows]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for key, style in (("oracle", "k--"), ("ranker", "C0-o"), ("readability", "C1-s"),
                       ("random", "C7:")):  # fmt: skip
        ax.plot(n, [r["top1"][key] for r in rows], style, label=key)
    ax.set(xscale="log", xlabel="ratings by the user", ylabel="true rating of the top-1 shown",
           title=f"top-1 quality ({result['users']} simulated users)")  # fmt: skip
    ideal = result.get("ideal_embedding_rows")
    if ideal:
        ax.plot(n, [r["top1"]["ranker"] for r in ideal], "C0--", label="ranker, ideal embedding")
    ax.legend()
    ax2.plot(n, [r["pairwise_accuracy"] for r in rows], "C0-o", label="all pairs")
    if ideal:
        ax2.plot(n, [r["pairwise_accuracy"] for r in ideal], "C0--", label="all, ideal embedding")
    ax2.plot(n, [r["pairwise_accuracy_clean_pairs"] for r in rows], "C2-s", label="clean pairs")
    ax2.axhline(0.85, color="grey", lw=0.8, ls="--")
    ax2.set(xscale="log", xlabel="ratings by the user", ylabel="pairwise accuracy",
            title=f"expected vs true rating (gap >= {PAIR_GAP})", ylim=(0.5, 1.0))  # fmt: skip
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    log(f"wrote {path}")
