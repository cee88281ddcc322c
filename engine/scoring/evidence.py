"""The taste patterns' evidence on a user's recent ratings, kept and extended as ratings arrive.

knn.variances weighs each pattern m of the library (a row of taste variances tau^2) by the
Gaussian-process evidence of the user's residuals y over a window of their ratings:

    log N(y; 0, C_m) = -1/2 y' C_m^-1 y - sum log diag L_m,   C_m = L_m L_m'
    C_m = sum_t tau_mt^2 k_t + noise^2 I                      (k_t: knn.kernels)

From scratch that is one Cholesky factorisation per pattern, M (w^3 / 3): with 80 patterns
and w = 50 the largest part of a request's fit. But a profile grows at its end, so the
window is anchored: it spans rows [start, n) with start = window_start(n), a multiple of
STEP, so that it holds the last MAX_EVIDENCE to MAX_EVIDENCE + STEP - 1 ratings (all of
them below MAX_EVIDENCE), and between two moves of its start it only grows. A grown window
is the old one bordered by the m new rows,

    C = [[C_11, C_12], [C_12', C_22]],   L^-1 = [[L_11^-1, 0], [-D^-1 B' L_11^-1, D^-1]]
    B = L_11^-1 C_12,   D D' = C_22 - B'B,   z = L^-1 y = [z_1, D^-1 (y_2 - B' z_1)]

so y'C^-1 y = |z|^2 and log det L = log det L_11 + sum log diag D: matrix products of
M x w x m, an m x m factorisation per pattern, and the new rows' kernels against the window
(m x w per term) instead of M (w^3 / 3). Window keeps L^-1 (not L: appending needs
products with it, which batch in numpy; triangular solves do not), z, the log determinants
and the window's kernels (for the flat hypothesis). So that a move of the start costs no
factorisation from scratch either, the windows that will follow are grown beside it, one
per later multiple of STEP below n (anchors(): at most MAX_EVIDENCE / STEP + 1 windows, the
newest a few rows long when it begins), each grown once LAG new rows wait for it (bordering
eight rows costs about what bordering three does); when the start moves, the next window is
already MAX_EVIDENCE rows long, up to LAG - 1 rows to add. Only a profile the engine has
not kept (its first request, or after its rows changed) computes them from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from engine.scoring import neighbours

MAX_EVIDENCE = 50  # the window's least length once a user has that many ratings
STEP = 25  # how far its start moves at a time (so its length is below MAX_EVIDENCE + STEP)
LAG = 8  # the windows that follow the current one are grown once this many rows are new


@dataclass(eq=False)
class _Room:
    """Arrays with room for the longest window (MAX_EVIDENCE + STEP - 1 rows) behind a
    Window's inverse, z and kernels (views of their first rows). Allocated empty: memory
    pages are touched only as rows are written, so a window of w rows holds about w rows'
    worth. A grown window writes only rows and columns past the old one's, so the old view
    stays valid; only the newest (owner) may write, once."""

    inverse: np.ndarray  # M x capacity x capacity
    z: np.ndarray  # M x capacity
    k: np.ndarray  # terms x capacity x capacity
    owner: object = None

    @classmethod
    def around(cls, inverse: np.ndarray, z: np.ndarray, k: np.ndarray) -> _Room:
        """Room for the longest window, the given arrays copied in."""
        w, m, cap = inverse.shape[1], len(inverse), MAX_EVIDENCE + STEP
        room = cls(np.empty((m, cap, cap)), np.empty((m, cap)), np.empty((len(k), cap, cap)))
        room.inverse[:, :w, :w], room.z[:, :w], room.k[:, :w, :w] = inverse, z, k
        return room

    @property
    def capacity(self) -> int:
        return self.z.shape[1]


@dataclass(frozen=True)
class Window:
    """The evidence of every pattern on rows [start, end) of one profile (module docstring)."""

    start: int
    end: int
    patterns: np.ndarray  # M x terms: what it was computed for (compared by identity)
    noise: float
    y: np.ndarray  # w residuals
    q: np.ndarray  # w centred priors
    k: np.ndarray  # terms x w x w kernels
    inverse: np.ndarray  # M x w x w: L^-1
    z: np.ndarray  # M x w: L^-1 y
    half_logdet: np.ndarray  # M: sum log diag L
    room: _Room | None = field(default=None, repr=False, compare=False)

    @property
    def nbytes(self) -> int:
        """About what its arrays hold in memory: its rows of the room's (module docstring)."""
        if self.room is None:
            return self.inverse.nbytes + self.z.nbytes + self.k.nbytes
        rows, room = self.end - self.start, self.room
        return room.inverse[:, :rows].nbytes + room.z.nbytes + room.k[:, :rows].nbytes

    @property
    def log_evidence(self) -> np.ndarray:
        """Per pattern, log N(y; 0, C_m) up to a constant (knn.log_evidence's value)."""
        return -0.5 * (self.z * self.z).sum(axis=1) - self.half_logdet


def window_start(n: int) -> int:
    """The first row of the window over a profile of n ratings."""
    return max(0, (n - MAX_EVIDENCE) // STEP * STEP)


def anchors(n: int) -> range:
    """The starts of the windows kept over a profile of n ratings: the window's own, then
    every later multiple of STEP below n."""
    return range(window_start(n), n, STEP)


def compute(
    k: np.ndarray, y: np.ndarray, q: np.ndarray, patterns: np.ndarray, noise: float, start: int
) -> Window:
    """The window over rows [start, start + len(y)) from scratch (k: knn.kernels of them)."""
    cov = _covariance(patterns, k, noise)
    chol = np.linalg.cholesky(cov)
    inverse = np.linalg.inv(chol)  # lower triangular too
    z = np.einsum("mij,j->mi", inverse, y)
    half_logdet = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    room = _Room.around(inverse, z, k)
    return _owned(Window(start, start + len(y), patterns, noise, y, q, k, inverse, z,
                         half_logdet), room)  # fmt: skip


def _owned(window: Window, room: _Room) -> Window:
    """window with its arrays as views of room's, and room's owner."""
    w = window.end - window.start
    out = replace(window, inverse=room.inverse[:, :w, :w], z=room.z[:, :w], k=room.k[:, :w, :w],
                  room=room)  # fmt: skip
    room.owner = out
    return out


def grown(
    windows: Sequence[Window],
    rated: np.ndarray,
    norms: np.ndarray | None,
    blocks: Sequence[slice],
    y: np.ndarray,
    q: np.ndarray,
) -> tuple[Window, ...]:
    """windows (at least one, all ending at one row) grown to the profile's rows up to
    len(y): rated, norms (neighbours.block_norms), y (residuals) and q (centred priors) of
    the whole profile. The new rows' kernels against every window's rows are computed once."""
    first, end, n = min(w.start for w in windows), windows[0].end, len(y)
    if end == n:
        return tuple(windows)
    rows, new = slice(first, n), slice(end, n)
    assert norms is not None
    k = _kernels(rated[new], rated[rows], norms[:, rows], blocks, q[new], q[rows])
    corner = k[:, :, end - first :]
    return tuple(
        _extended(w, k[:, :, w.start - first : end - first], corner, y[w.start :], q[w.start :])
        for w in windows
    )


def _extended(
    window: Window, cross: np.ndarray, corner: np.ndarray, y: np.ndarray, q: np.ndarray
) -> Window:
    """window bordered by m new rows (module docstring): cross (terms x m x w) and corner
    (terms x m x m) their kernels, y and q the grown window's residuals and priors."""
    w, m = window.end - window.start, corner.shape[1]
    c12 = np.einsum("mt,tij->mji", window.patterns, cross)  # M x w x m
    c22 = _covariance(window.patterns, corner, window.noise)
    b = window.inverse @ c12
    bt = b.transpose(0, 2, 1)
    d = np.linalg.cholesky(c22 - bt @ b)
    d_inv = np.linalg.inv(d)
    room = window.room
    if room is None or room.owner is not window or room.capacity < w + m:
        room = _Room.around(window.inverse, window.z, window.k)
    new = slice(w, w + m)
    room.inverse[:, :w, new] = 0.0  # L^-1 is lower triangular
    room.inverse[:, new, :w] = -d_inv @ (bt @ window.inverse)
    room.inverse[:, new, new] = d_inv
    rest = y[None, w:] - np.einsum("mji,mj->mi", b, window.z)
    room.z[:, new] = np.einsum("mij,mj->mi", d_inv, rest)
    room.k[:, new, :w] = cross
    room.k[:, :w, new] = cross.transpose(0, 2, 1)
    room.k[:, new, new] = corner
    half_logdet = window.half_logdet + np.log(np.diagonal(d, axis1=1, axis2=2)).sum(axis=1)
    grown = replace(window, end=window.end + m, y=y, q=q, half_logdet=half_logdet)
    return _owned(grown, room)


def _covariance(patterns: np.ndarray, k: np.ndarray, noise: float) -> np.ndarray:
    """M x a x b: sum_t tau_mt^2 k_t (+ noise^2 on the diagonal when square)."""
    cov = (patterns @ k.reshape(len(k), -1)).reshape(len(patterns), *k.shape[1:])
    if k.shape[1] == k.shape[2]:
        cov[:, np.arange(k.shape[1]), np.arange(k.shape[1])] += noise**2
    return cov


def _kernels(
    a: np.ndarray,
    b: np.ndarray,
    b_norms: np.ndarray,
    blocks: Sequence[slice],
    qa: np.ndarray,
    qb: np.ndarray,
) -> np.ndarray:
    """terms x len(a) x len(b): knn.kernels' terms between two sets of rows."""
    d2 = neighbours.block_distances(a, b, b_norms, blocks).astype(np.float64)
    gauss = np.exp(d2 * (-0.5 / neighbours.BANDWIDTH**2))
    return np.concatenate([gauss, np.outer(qa, qb)[None], np.ones((1, len(a), len(b)))])
