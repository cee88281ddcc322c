"""A user's expected rating of a candidate, from their own (embedding, rating) pairs.

A prior p (the CNN readability on the 1..5 rating scale, or a global mean) says what anyone
would give a diagram; everyone's ratings calibrate it (population.py) to p' = offset + slope
* p over the range of priors people were shown (p >= floor; below, p' falls with p at the
prior's own scale), and without that lesson p' = p. A user's ratings r_i of diagrams with
priors p'_i then teach how this user differs: the residuals e_i = r_i - p'_i are explained
by a bias (rates above or below others), a slope of their own on the prior (beta q_i, q_i =
p_i - c around the population's centre c: one user rates readability hard, a near-
indifferent one hardly at all, and one slope for everyone, learnt where tastes dominate the
ratings, can collapse and throw readability away for all), plus one distance-weighted kNN
per embedding block B (fill colour, shape, line style, ... see autoencoder.py and
content.py): people like blue *and* circles, and a plain kNN over the whole vector would
need a rated diagram close in every respect at once, which 20 ratings never give.

    w_iB(x)    = exp(-d_B(x, x_i)^2 / (2 h^2))       for the K nearest ratings in block B
    f_B(x)     = sum_i w_iB(x) t_iB / (sum_i w_iB(x) + lambda_B)
    bias       = sum_i e_i / (n + lambda_0)             (first; the rest explain e_i - bias)
    beta       = sum_i q_i t_i,beta / (sum_i q_i^2 + lambda_beta)    (ridge regression on q)
    expected   = p' + bias + beta (p - c) + trust * sum_B f_B(candidate)
    confidence = mean over blocks of sum_i w_iB / (sum_i w_iB + lambda_B), each block
                 weighted by how much this user's taste varies with it (tau_B^2 below)

The terms add up: a generalised additive model fitted by backfitting (each target t_iB is
e_i - bias minus what the other terms already explain at x_i, BACKFIT rounds). lambda counts the
prior as that many ratings at distance 0: a candidate unlike anything rated (in every
block) stays at p' + bias, with confidence ~0.

How hard each term is shrunk is the user's own: lambda_B = sigma^2 / tau_B^2, with sigma the
rating noise and tau_B^2 how much this user's ratings vary with block B (tau_beta^2: how far
their slope strays from everyone's). Twenty ratings
cannot measure that alone, so everyone's ratings give a library of taste patterns (rows of
tau^2 per term, population.py), and the user's tau^2 is the library's average weighted by
how well each pattern explains their recent ratings (the last MAX_EVIDENCE to MAX_EVIDENCE +
evidence.STEP - 1 of them, all below MAX_EVIDENCE: evidence.py's window): the Gaussian-process
evidence of e under the covariance sum_B tau_B^2 k_B + tau_beta^2 q q^T + tau_0^2 1 1^T +
sigma^2 I, with k_B the same Gaussian weights. A block nobody's taste depends on (where the
structure, not the style, differs between requests) is shrunk to nothing; a user who cares
only about colour gets a small lambda for the fill and large ones elsewhere. Without a learnt
population (Population()) the library is a generic one (default_library()): the default
variances (lambda_B = LAMBDA, lambda_beta LAMBDA_SLOPE, lambda_0 LAMBDA_BIAS) with every
block at 1, 0.3 or 0.1 times them (DEFAULT_SCALES), and one pattern per block with that block
at 3 times and the rest at 0.03 (ONE_BLOCK: most people care about one or two things), set
against the flat hypothesis at FLAT_PRIOR. Chosen on our bench without a population (seeds
0 and 1, 100 users): at 20 ratings 83.6% -> 88.7% and 82.1% -> 86.1% pairwise, and
near-indifferent users nearer readability alone (models/ae/MODEL_CARD.md, fourth pass); the
plain default alone (lambda_B = LAMBDA for everyone) fits twenty ratings' noise in all
blocks at once.

trust = 1 - P(near-indifferent | the window's residuals): the library's evidence set against
a flat hypothesis (no taste of one's own, slope and bias kept, a noise of one's own:
flat_evidence()), prior FLAT_PRIOR. An average of patterns gives every block some taste, so a
user whose ratings are noise around readability would otherwise see their order pulled away
from it by twenty ratings' noise: among the top 3 of 8 shown, the readability differences
left are small next to what that noise adds. The prior is high (0.9), set on our bench
(`bench personalization`, seeds 0 and 1), because the two errors cost unequally: a taste
user's log odds of flat fall by about 0.2 nats a rating (-3.8 on average at 20 ratings,
-9 at 50), so a smaller trust for them in their first ten ratings costs them little (they
gain little over readability there yet), while a flat user's odds rise slowly (+2.2 at 20)
and at 0.5 left them a fifth to a third of their taste terms at 20 ratings.
A learnt population saved with flat 0 asks no flat question (trust 1).

K = 30 (10 did a little worse in `diagrammer bench personalization`), h = BANDWIDTH
(autoencoder.py and content.py scale each block so two random diagrams are about
1/sqrt(blocks) apart in it), Gaussian weights rather than the original 1/d^2 so that an
exact duplicate cannot take all the weight. With blocks=None the whole vector is one block.

fit() does the profile's work once per set of ratings, and a profile that grows by a few
ratings costs only what the new rows change (`diagrammer bench personalization --speed`
times fit and ranking per candidate for 10 / 100 / 1,000 ratings: first request, first after
new ratings, repeat):
- the K nearest rated diagrams of each rated diagram per block (neighbours.py keeps them
  across requests in an LRU, in arrays with room to grow): the m new rows' distances to all
  n (one m x n matrix product per block) give their own lists, and a new row takes the place
  of the farthest in each old list it comes nearer than; the old rows' lists are changed in
  place, under the profile's lock;
- the evidence (evidence.py): the window's Cholesky factors are kept as L^-1 per pattern and
  bordered by the new rows (products of M x w x m and an m x m factorisation per pattern
  instead of M factorisations of w x w), and the windows that will follow a move of the start
  grow beside it, so that no request factorises a window from scratch once the profile is
  kept;
- the backfitting (BACKFIT rounds of one sparse product per block, on the lists as they are:
  the one part that stays O(n K blocks) per request).
A repeat with the same ratings gets the kept fit. predict() is brute force in numpy: one
small matrix product per block for all candidates and one partial sort for all blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.scoring import evidence, neighbours

K = neighbours.K
BANDWIDTH = neighbours.BANDWIDTH
LAMBDA = 1.0
LAMBDA_BIAS = 5.0
LAMBDA_SLOPE = 10.0  # in ratings at prior distance 1 from the centre
CENTRE = 3.0  # the default population's centre of the priors (1..5 scale)
EXTRA_TERMS = 2  # terms besides the blocks: the user's own slope, the bias
NOISE = 0.6  # rating noise sd (stars) of the default population
BACKFIT = 4
MAX_EVIDENCE = evidence.MAX_EVIDENCE  # recent ratings that choose the taste pattern
RATING_MIN, RATING_MAX = 1.0, 5.0
FLAT_SHARE = 0.0  # of the taste variances, for a near-indifferent user (flat_evidence)
FLAT_NOISES = (1.0, 1.15, 1.3)  # the flat hypothesis's noise sd, times the population's
FLAT_PRIOR = 0.9  # prior probability that a user is near-indifferent (set, not learnt)
DEFAULT_SCALES = (1.0, 0.3, 0.1)  # the default library: every block alike, at these times
ONE_BLOCK = (3.0, 0.03)  # and one block cared about (these times the default), the rest not


@dataclass(frozen=True)
class Population:
    """What everyone's ratings teach each user's estimate (population.py learns it).

    slope, offset, floor: the calibrated prior p' = offset + slope * p for p >= floor, and
    p' falls one for one with p below floor. noise: the rating noise sd. centre: the prior
    c around which each user's own slope turns (the mean prior people were shown).
    patterns: M x (blocks + 2) taste variances tau^2 (the last two columns: the user's own
    slope and the bias), with prior weights (M); None: one pattern, every block shrunk by
    LAMBDA, the slope by LAMBDA_SLOPE and the bias by LAMBDA_BIAS.
    """

    slope: float = 1.0
    offset: float = 0.0
    floor: float = -np.inf
    noise: float = NOISE
    patterns: np.ndarray | None = None
    weights: np.ndarray | None = None
    centre: float = CENTRE
    flat: float = 0.0  # prior share of near-indifferent users for a learnt library (0: never
    # asked; learnt ones: FLAT_PRIOR). Without one (patterns None) the default library
    # (default_library()) is set against the flat hypothesis at FLAT_PRIOR

    def fits(self, n_blocks: int) -> bool:
        """Whether it was learnt for an embedding of n_blocks blocks (or needs none)."""
        return self.patterns is None or self.patterns.shape[1] == n_blocks + EXTRA_TERMS

    def prior(self, p: np.ndarray | float) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        return self.offset + self.slope * np.maximum(p, self.floor) + np.minimum(p - self.floor, 0)


@dataclass(frozen=True)
class Expected:
    """Per candidate: the expected rating (1..5) and a confidence (0..1)."""

    rating: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class Taste:
    """One user's fitted taste: rated embeddings, per-term shrinkage and targets t_iB."""

    rated: np.ndarray  # n x D float32
    norms: np.ndarray  # blocks x n: the rated rows' squared norms per block
    bias: float
    targets: np.ndarray  # blocks x n
    blocks: tuple[slice, ...]
    shrink: np.ndarray  # lambda per block
    relevance: np.ndarray  # tau^2 per block (weights the confidence)
    population: Population
    slope: float = 0.0  # the user's own slope beta on the prior, around population.centre
    trust: float = 1.0  # 1 - P(near-indifferent | ratings): targets are scaled by it
    windows: tuple[evidence.Window, ...] = ()  # the patterns' evidence, for the next fit

    @property
    def n(self) -> int:
        return len(self.rated)


def fit(
    rated: np.ndarray,
    ratings: np.ndarray,
    rated_prior: np.ndarray | float,
    blocks: Sequence[slice] | None = None,
    population: Population | None = None,
) -> Taste:
    """A user's taste from the embeddings they rated, their ratings (1..5) and the priors.

    A population learnt for another number of blocks is ignored (as a profile from an older
    embedder is), not an error: the default one takes its place."""
    ratings = np.asarray(ratings, dtype=np.float64).reshape(-1)
    n = len(ratings)
    rated = np.atleast_2d(np.asarray(rated, dtype=np.float32))
    if len(rated) != n:
        raise ValueError(f"{len(rated)} embeddings but {n} ratings")
    blocks = tuple(blocks) if blocks else (slice(0, rated.shape[1]),)
    pop = population if population is not None and population.fits(len(blocks)) else Population()
    p = np.broadcast_to(np.asarray(rated_prior, np.float64), (n,))
    if n == 0:
        return _fitted(rated, neighbours.find(rated, blocks), ratings, p, pop)
    with neighbours.held(rated, blocks) as (found, previous):
        inputs = (ratings, p, pop)
        kept = neighbours.recall(found, inputs)
        if kept is None:
            windows = previous.windows if isinstance(previous, Taste) else ()
            kept = _fitted(found.rated, found, ratings, p, pop, windows)
            neighbours.remember(found, inputs, kept)
    return kept


def _fitted(
    rated: np.ndarray, found: neighbours.Neighbours, ratings: np.ndarray, p: np.ndarray,
    pop: Population, windows: tuple[evidence.Window, ...] = (),
) -> Taste:  # fmt: skip
    """fit() given each rated diagram's neighbours per block (see the module docstring);
    windows: the evidence windows of an earlier fit of this profile's first rows, to extend."""
    n, blocks = len(ratings), found.blocks
    e = ratings - pop.prior(p)
    q = p - pop.centre
    tau2, trust, windows = variances(pop, rated, e, blocks, q, windows, found.norms)
    shrink = pop.noise**2 / np.maximum(tau2, 1e-12)
    bias = float(e.sum() / (n + shrink[-1])) if n else 0.0
    e = e - bias
    # Each block's smoother: row i averages its K nearest rows with these weights, shrunk.
    scale = 1.0 / (found.mass + shrink[: len(blocks), None])
    q_shrunk = q / (q @ q + shrink[-2])  # the user's slope: ridge on q
    f = np.zeros((len(blocks) + 1, n))
    rest = e.copy()  # e minus every term: what the others leave unexplained
    partial, smoothed = np.empty(n), np.empty(n)
    for _ in range(BACKFIT):
        for b in range(len(blocks)):
            np.add(rest, f[b], out=partial)
            found.smooth(b, partial, smoothed)
            np.multiply(smoothed, scale[b], out=f[b])
            np.subtract(partial, f[b], out=rest)
        np.add(rest, f[-1], out=partial)
        np.multiply(q, q_shrunk @ partial, out=f[-1])
        np.subtract(partial, f[-1], out=rest)
    targets = rest + f[: len(blocks)]
    slope = float(q_shrunk @ (rest + f[-1])) if n else 0.0
    k = len(blocks)
    return Taste(
        rated, found.norms, bias, trust * targets, blocks, shrink[:k], tau2[:k],
        pop, slope, trust, windows,
    )  # fmt: skip


def predict(taste: Taste, candidates: np.ndarray, prior: np.ndarray | float) -> Expected:
    """Expected ratings and confidences of candidates (m x D embeddings, m priors or one)."""
    candidates = np.atleast_2d(np.asarray(candidates, dtype=np.float32))
    raw = np.broadcast_to(np.asarray(prior, np.float64), (len(candidates),))
    p = taste.population.prior(raw)
    if taste.n == 0:
        return Expected(p.clip(RATING_MIN, RATING_MAX), np.zeros(len(candidates)))
    rating = p + taste.bias + taste.slope * (raw - taste.population.centre)
    d2 = neighbours.block_distances(candidates, taste.rated, taste.norms, taste.blocks)
    idx, d2 = neighbours.k_smallest(d2)  # blocks x m x k
    w = neighbours.gaussian(d2)
    t = np.take_along_axis(taste.targets[:, None, :], idx, axis=2)
    total, lam = w.sum(axis=2), taste.shrink[:, None]
    rating = rating + ((w * t).sum(axis=2) / (total + lam)).sum(axis=0)
    share = taste.relevance / taste.relevance.sum()
    confidence = share @ (total / (total + lam))
    return Expected(rating.clip(RATING_MIN, RATING_MAX), confidence)


def expected_ratings(
    rated: np.ndarray,
    ratings: np.ndarray,
    candidates: np.ndarray,
    prior: np.ndarray | float,
    rated_prior: np.ndarray | float | None = None,
    blocks: Sequence[slice] | None = None,
    population: Population | None = None,
) -> Expected:
    """fit() then predict(); rated_prior defaults to prior when that is one number."""
    candidates = np.atleast_2d(np.asarray(candidates, dtype=np.float32))
    ratings = np.asarray(ratings, dtype=np.float64).reshape(-1)
    rated = np.asarray(rated, dtype=np.float32).reshape(-1, candidates.shape[1])
    if rated_prior is None:
        if np.ndim(prior) != 0 and len(ratings):
            raise ValueError("with one prior per candidate, give the rated diagrams' priors too")
        rated_prior = float(prior) if np.ndim(prior) == 0 else 0.0
    return predict(fit(rated, ratings, rated_prior, blocks, population), candidates, prior)


def variances(
    pop: Population,
    rated: np.ndarray,
    e: np.ndarray,
    blocks: Sequence[slice],
    centred_prior: np.ndarray | None = None,
    kept: tuple[evidence.Window, ...] = (),
    norms: np.ndarray | None = None,
) -> tuple[np.ndarray, float, tuple[evidence.Window, ...]]:
    """The user's tau^2 per block, for their own slope and for the bias: the patterns'
    average, each weighted by its prior weight times its evidence on the user's recent
    residuals (evidence.py's window; centred_prior: their priors minus pop.centre; None: 0);
    the trust in their taste terms, 1 - P(near-indifferent | residuals) (flat_evidence());
    and the evidence windows, for the next fit to extend (kept: an earlier fit's, over a
    prefix of these rows; norms: neighbours.block_norms(rated)). Without norms every window
    is computed from scratch."""
    if len(e) == 0:
        return _default_variances(pop, len(blocks)), 1.0, ()
    q = np.zeros(len(e)) if centred_prior is None else np.asarray(centred_prior, np.float64)
    patterns = default_library(pop, len(blocks)) if pop.patterns is None else pop.patterns
    windows = _windows(kept, patterns, pop.noise, rated, e, q, blocks, norms)
    window = windows[0]
    log_w = window.log_evidence
    if pop.weights is not None:
        log_w = log_w + np.log(np.maximum(pop.weights, 1e-300))
    top = log_w.max()
    w = np.exp(log_w - top)
    tau2 = (w / w.sum()) @ patterns
    library = float(top + np.log(w.sum()))  # the library's evidence, prior weights summed
    flat_prior = FLAT_PRIOR if pop.patterns is None else pop.flat
    if flat_prior <= 0:
        return tau2, 1.0, windows
    flat = flat_evidence(window.k, window.y, tau2, pop.noise)
    log_odds = flat + np.log(flat_prior) - library - np.log1p(-flat_prior)
    return tau2, float(1.0 / (1.0 + np.exp(np.clip(log_odds, -50, 50)))), windows


def _windows(
    kept: tuple[evidence.Window, ...],
    patterns: np.ndarray,
    noise: float,
    rated: np.ndarray,
    e: np.ndarray,
    q: np.ndarray,
    blocks: Sequence[slice],
    norms: np.ndarray | None,
) -> tuple[evidence.Window, ...]:
    """The evidence windows over these residuals (evidence.anchors), the window itself first:
    kept ones grown when computed for the same patterns, start and rows (the residuals they
    hold unchanged), the others from scratch."""
    starts = evidence.anchors(len(e))
    usable = [w for w in kept if norms is not None and w.start in starts
              and _extends(w, patterns, noise, e, q, w.start)]  # fmt: skip
    out = {w.start: w for w in usable}
    # The window itself is brought up to date; the ones that follow it only every LAG rows.
    late = [w for w in usable if w.end < len(e)
            and (w.start == starts[0] or len(e) - w.end >= evidence.LAG)]  # fmt: skip
    for end in {w.end for w in late}:
        same = [w for w in late if w.end == end]
        out |= {w.start: w for w in evidence.grown(same, rated, norms, blocks, e, q)}
    for start in starts:
        if start not in out:
            k = kernels(rated[start:], blocks, q[start:])
            out[start] = evidence.compute(k, e[start:], q[start:], patterns, noise, start)
    return tuple(out[start] for start in starts)


def _extends(
    kept: evidence.Window, patterns: np.ndarray, noise: float, e: np.ndarray, q: np.ndarray,
    start: int,
) -> bool:  # fmt: skip
    """Whether kept is the window from start over a prefix of these residuals."""
    rows = slice(kept.start, kept.end)
    return (
        kept.patterns is patterns and kept.noise == noise and kept.start == start
        and kept.end <= len(e) and np.array_equal(kept.y, e[rows])
        and np.array_equal(kept.q, q[rows])
    )  # fmt: skip


_LIBRARIES: dict[tuple[float, int], np.ndarray] = {}


def default_library(pop: Population, n_blocks: int) -> np.ndarray:
    """The taste patterns of a population that learnt none (module docstring): the default
    variances with every block at each of DEFAULT_SCALES, then one row per block with that
    block at ONE_BLOCK[0] times the default and the others at ONE_BLOCK[1]; slope and bias
    as the default's. Kept per noise and number of blocks, since the evidence windows are
    extended only for the very patterns they were computed for (knn._extends)."""
    key = (pop.noise, n_blocks)
    if key not in _LIBRARIES:
        one = _default_variances(pop, n_blocks)
        alike = np.repeat(one[None], len(DEFAULT_SCALES), axis=0)
        alike[:, :n_blocks] *= np.asarray(DEFAULT_SCALES)[:, None]
        single = np.repeat(one[None], n_blocks, axis=0)
        single[:, :n_blocks] *= ONE_BLOCK[1]
        single[np.arange(n_blocks), np.arange(n_blocks)] = one[0] * ONE_BLOCK[0]
        _LIBRARIES[key] = np.concatenate([alike, single])
    return _LIBRARIES[key]


def _default_variances(pop: Population, n_blocks: int) -> np.ndarray:
    """tau^2 without a library: every block shrunk by LAMBDA, slope and bias by theirs."""
    return pop.noise**2 / np.array([LAMBDA] * n_blocks + [LAMBDA_SLOPE, LAMBDA_BIAS])


def flat_evidence(k: np.ndarray, y: np.ndarray, tau2: np.ndarray, noise: float) -> float:
    """log evidence of residuals y for a near-indifferent user: every block's taste variance
    FLAT_SHARE of tau2's, the slope and bias variances of tau2 (the last two terms), and a
    noise of their own, averaged over FLAT_NOISES times the population's. The population's
    noise is learnt with the library, whose patterns take up some of the rating noise as
    taste (a block where no two rated diagrams are alike is noise to the evidence), so it
    is below what a near-indifferent user's ratings scatter by (rounding to whole stars
    included: 0.45 where the bench's users scatter by 0.58); at that noise the flat
    hypothesis lost to the library for a third of them. Set against the library's evidence,
    it says how likely the user's residuals are noise around readability."""
    flat = tau2 * FLAT_SHARE
    flat[-EXTRA_TERMS:] = tau2[-EXTRA_TERMS:]
    noises = noise * np.asarray(FLAT_NOISES)
    each = log_evidence(k, y, np.broadcast_to(flat, (len(noises), len(flat))), noises)
    return float(np.logaddexp.reduce(each) - np.log(len(each)))


def kernels(
    rated: np.ndarray, blocks: Sequence[slice], centred_prior: np.ndarray | None = None
) -> np.ndarray:
    """(blocks + 2) x n x n: the Gaussian weights between rated diagrams per block, the
    linear kernel q_i q_j of their centred priors (a slope of the user's own: beta q_i with
    beta ~ N(0, tau^2)) and ones (the bias is the same for every diagram)."""
    rated = np.asarray(rated, dtype=np.float64)
    q = np.zeros(len(rated)) if centred_prior is None else np.asarray(centred_prior, np.float64)
    out = [np.exp(-neighbours.squared_distances(rated[:, s], rated[:, s]) * (0.5 / BANDWIDTH**2))
           for s in blocks]  # fmt: skip
    out.append(np.outer(q, q))
    out.append(np.ones((len(rated), len(rated))))
    return np.stack(out)


def log_evidence(
    k: np.ndarray, y: np.ndarray, patterns: np.ndarray, noise: float | np.ndarray
) -> np.ndarray:
    """log N(y; 0, sum_B tau_B^2 k_B + noise^2 I) for each pattern (row of tau^2), up to a
    constant: how well each pattern explains residuals y (kernels k from kernels(); noise:
    one for all patterns or one each).

    One Cholesky factorisation per pattern gives both terms: that of the covariance C
    bordered by y and a number c, [[C, y], [y', c]], ends in [z', sqrt(c - z'z)] with
    z = L^-1 y, so y' C^-1 y = z'z = c - (its last diagonal)^2, with no triangular solve (c is
    y'y / noise^2 + 1, above z'z since C >= noise^2 I)."""
    n, m = len(y), len(patterns)
    noise2 = np.broadcast_to(np.asarray(noise, np.float64) ** 2, (m,))
    c = float(y @ y) / noise2 + 1.0
    bordered = np.empty((m, n + 1, n + 1))
    bordered[:, :n, :n] = (patterns @ k.reshape(len(k), -1)).reshape(m, n, n)
    diagonal = np.arange(n)
    bordered[:, diagonal, diagonal] += noise2[:, None]
    bordered[:, :n, n] = bordered[:, n, :n] = y
    bordered[:, n, n] = c
    diag = np.diagonal(np.linalg.cholesky(bordered), axis1=1, axis2=2)
    return -0.5 * (c - diag[:, n] ** 2) - np.log(diag[:, :n]).sum(axis=1)
