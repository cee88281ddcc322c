"""Simulated users for `diagrammer bench personalization`: hidden tastes, noisy ratings.

The language model may not be trained yet, so a request's candidates come from the
synthetic data generator (training/data): one structure per request (an MLP, a layer-block
diagram or a flowchart, as synth.answer draws them) drawn in CANDIDATES styles
(styles.choose_style: direction, shape, size, fill, line style and colour), and a quarter of
the candidates degraded (training/data/degrade.py) as a careless model's would be.

A user has a hidden taste over five visual attributes of a candidate (its Look): node shape,
palette (fill colour family, and a liking or not for dark fills), line style, density
(log share of the canvas covered by nodes) and orientation (direction). Each attribute gets
an importance (Dirichlet(0.7): most users care about one or two things) and per-level
utilities ~ N(0, 1) (a slope for density); the weighted sum is scaled over the pool to a
standard deviation of TASTE_SD stars. The true rating of a candidate is

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
differ by at least PAIR_GAP.

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram
from engine.diagram.render import render_array
from engine.scoring import cnn, content, knn
from engine.scoring.autoencoder import Embedder
from engine.scoring.population import History
from engine.scoring.rank import Candidate, rank

CANDIDATES, SHOWN = 8, 3
CHECKPOINTS = (1, 5, 10, 20, 50)
EVAL_REQUESTS = 20
DEGRADED_SHARE = 0.25
BASE, QUALITY, TASTE_SD, NOISE_SD = 3.2, 3.0, 1.0, 0.5
PAIR_GAP = 0.5
POPULATION_USERS, POPULATION_RATINGS = 100, 50
ATTRIBUTES = ("shape", "palette", "line", "density", "orientation")


@dataclass(frozen=True)
class Look:
    """The visual attributes a simulated taste reads."""

    shape: str
    palette: str  # fill colour family, "dark " + family for dark fills
    line: str
    density: float  # log share of the canvas covered by node boxes
    orientation: str


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

    @property
    def prior(self) -> np.ndarray:
        """What anyone would give each candidate: the CNN readability on the rating scale."""
        return cnn.target_to_rating(self.cnn).astype(np.float64)


def _fill_families() -> dict[tuple[int, int, int], str]:
    from training.data.styles import FILLS

    out = {}
    for family, (light, dark) in FILLS.items():
        out |= {c: family for c in light} | {c: f"dark {family}" for c in dark}
    return out


def build_pool(
    n_requests: int,
    embedder: Embedder,
    model: cnn.ReadabilityCNN,
    seed: int,
    progress: bool = True,
    n_candidates: int = CANDIDATES,
) -> Pool:
    from training.data.degrade import KINDS, degrade
    from training.data.styles import choose_style
    from training.data.synth import KIND_WEIGHTS, answer
    from training.data.synth import KINDS as SYNTH_KINDS

    rng = random.Random(seed)
    families = _fill_families()
    diagrams: list[Diagram] = []
    looks: list[Look] = []
    requests: list[list[int]] = []
    bar = tqdm(total=n_requests * n_candidates, desc="candidates", disable=not progress)
    for _ in range(n_requests):
        base = answer(rng, rng.choices(SYNTH_KINDS, weights=KIND_WEIGHTS)[0]).sketch
        requests.append([])
        for _ in range(n_candidates):
            s = choose_style(rng, base.kind)
            sketch = replace(
                base, direction=s.direction, shape=s.shape, size=s.size, fill=s.fill,
                line_style=s.line_style, line_color=s.line_color,
            )  # fmt: skip
            d = layout(sketch)
            if rng.random() < DEGRADED_SHARE:
                d = degrade(d, rng.choice(KINDS), rng)
            requests[-1].append(len(diagrams))
            diagrams.append(d)
            area = sum(n.width * n.height for n in d.nodes) / (CANVAS_W * CANVAS_H)
            palette = families.get(s.fill, "other")
            looks.append(Look(s.shape, palette, s.line_style, float(np.log(area)), s.direction))
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

    def true(self, idx: np.ndarray | list[int]) -> np.ndarray:
        return np.clip(BASE + self.taste[idx] + self.quality[idx], 1.0, 5.0)

    def rate(self, i: int, rng: np.random.Generator) -> float:
        return float(np.clip(np.round(self.true([i])[0] + rng.normal(0, NOISE_SD)), 1, 5))


def make_user(pool: Pool, rng: np.random.Generator) -> User:
    importance = dict(zip(ATTRIBUTES, rng.dirichlet([0.7] * len(ATTRIBUTES)), strict=True))
    likes: dict[str, dict[str, float]] = {a: {} for a in ATTRIBUTES if a != "density"}
    dark_liking = rng.normal(0, 0.7)
    slope = rng.normal(0, 1)
    densities = np.array([look.density for look in pool.looks])
    dz = (densities - densities.mean()) / (densities.std() + 1e-9)

    def like(attribute: str, level: str) -> float:
        if level not in likes[attribute]:
            likes[attribute][level] = float(rng.normal(0, 1))
        return likes[attribute][level]

    raw = np.array(
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
    taste = TASTE_SD * (raw - raw.mean()) / (raw.std() + 1e-9)
    return User(taste, QUALITY * (pool.readability - 1.0))


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
        Candidate(float(pool.cnn[c]), float(e), embedding=pool.embeddings[c], key=pool.keys[c])
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
                    said = np.sign(exp[i] - exp[j])  # a tie is a coin flip: half right
                    ok = 0.5 if said == 0 else float(said == np.sign(true[i] - true[j]))
                    out.agree.append(ok)
                    if clean[i] and clean[j]:
                        out.agree_taste.append(ok)


def simulate(
    pool: Pool,
    n_users: int,
    seed: int,
    progress: bool = True,
    n_eval: int = EVAL_REQUESTS,
    checkpoints: tuple[int, ...] = CHECKPOINTS,
    population: knn.Population | None = None,
) -> dict:
    """Every user's rounds (see the module docstring); the first n_eval requests are held out."""
    rng = np.random.default_rng(seed)
    eval_requests = list(range(n_eval))
    train_requests = np.arange(n_eval, len(pool.requests))
    points = {n: Checkpoint() for n in checkpoints}
    for _ in tqdm(range(n_users), desc="users", disable=not progress):
        user = make_user(pool, rng)
        todo = list(checkpoints)
        rounds = _rounds(pool, user, rng, rng.permutation(train_requests), population)
        for profile, ratings, _, round_over in rounds:
            if todo and len(profile) == todo[0]:
                fitted = taste(pool, profile, ratings, population)
                evaluate(pool, user, fitted, eval_requests, points[todo.pop(0)])
            if not todo and round_over:
                break
    return summarise(points, n_users)


def everyone(
    pool: Pool,
    n_users: int = POPULATION_USERS,
    seed: int = 1,
    n_ratings: int = POPULATION_RATINGS,
    n_eval: int = EVAL_REQUESTS,
) -> list[History]:
    """Other users' rating histories (see the module docstring), for population.learn()."""
    rng = np.random.default_rng(seed)
    train_requests = np.arange(n_eval, len(pool.requests))
    out = []
    for _ in range(n_users):
        user = make_user(pool, rng)
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
                "pairwise_accuracy": float(np.mean(p.agree)),
                "pairwise_accuracy_clean_pairs": float(np.mean(p.agree_taste)),
                "pairs": len(p.agree),
            }
        )
    return {"users": n_users, "rows": rows}


def with_true_attributes(pool: Pool) -> Pool:
    """The pool with embeddings replaced by the users' own attributes (one-hot levels, and the
    standardised density), one block each: what the ranker would learn from a perfect
    embedding. The bench reports it as a ceiling for the auto-encoder embedding."""
    looks = pool.looks
    columns = {
        "shape": [look.shape for look in looks],
        "palette": [look.palette.removeprefix("dark ") for look in looks],
        "dark": ["dark" in look.palette for look in looks],
        "line": [look.line for look in looks],
        "orientation": [look.orientation for look in looks],
    }
    parts = [
        0.3 * (np.array(v)[:, None] == np.array(sorted(set(v)))[None, :]) for v in columns.values()
    ]
    density = np.array([look.density for look in looks])
    parts.append(0.1 * ((density - density.mean()) / (density.std() + 1e-9))[:, None])
    stops = np.cumsum([0] + [p.shape[1] for p in parts])
    blocks = tuple(slice(int(a), int(b)) for a, b in zip(stops, stops[1:], strict=False))
    return replace(pool, embeddings=np.hstack(parts).astype(np.float32), blocks=blocks)


def knn_speed(
    pool: Pool,
    population: knn.Population | None = None,
    n_ratings: int = 1000,
    seed: int = 0,
    repeats: int = 50,
) -> dict:
    """Microseconds per candidate of knn.predict, and milliseconds of knn.fit, for a user with
    n_ratings ratings (pool embeddings plus a little noise), on one request's candidates."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pool.looks), n_ratings)
    noise = rng.normal(0, 0.01, (n_ratings, pool.embeddings.shape[1]))
    rated = (pool.embeddings[idx] + noise).astype(np.float32)
    ratings = rng.integers(1, 6, n_ratings).astype(float)
    start = time.perf_counter()
    fitted = knn.fit(rated, ratings, pool.prior[idx], pool.blocks, population)
    fit_ms = (time.perf_counter() - start) * 1e3
    cands = pool.requests[0]
    start = time.perf_counter()
    for _ in range(repeats):
        knn.predict(fitted, pool.embeddings[cands], pool.prior[cands])
    per = (time.perf_counter() - start) / (repeats * len(cands)) * 1e6
    return {
        "ratings": n_ratings,
        "fit_ms": round(fit_ms, 1),
        "predict_us_per_candidate": round(per, 1),
    }


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
