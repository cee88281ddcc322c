"""Each rated diagram's nearest rated diagrams per embedding block, kept across requests.

knn.fit smooths a user's ratings over, per block, each rated diagram's K nearest rated
diagrams (itself included). Finding them from scratch is blocks x n^2 distances and a
partial sort per row: a quarter of a second at n = 1,000, on every request. But a profile
only grows: the store lists a user's ratings oldest first (engine/store/diagrams.py), so a
new rating appends a row, and it changes only the lists of the rows it lands near. So the
lists are kept, in a process-wide LRU of at most MAX_ROWS rated rows, and extended: the m
new rows' distances to all n (m x n per block) give their own lists and, merged with the old
K, the old rows' new ones. A profile whose rows are not an extension of a kept one (a rating
changed moves its row to the end, another embedder) is found from scratch, as before.

Each entry also holds the last fit made from it (knn.Taste) with what it was fitted from, so
that a user asking again with the same ratings is served without refitting (remember(),
recall()); any change of a row, a rating, a prior or the population misses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

K = 30
BANDWIDTH = 0.1  # of the Gaussian weights (knn.py)
MAX_ROWS = 10_000  # rated rows kept in all: about 8 KB each (17 blocks of K), 80 MB


@dataclass(frozen=True)
class Neighbours:
    """rated: n x D (float32); per block, row i's k = min(K, n) nearest rows (in no particular
    order) with their squared distances d2 (blocks x n x k), the largest of them (kth: a new
    row nearer joins the list), their Gaussian weights' sums (mass, blocks x n) and the
    weights as a sparse n x n matrix per block, what knn.fit's backfitting multiplies by
    (its indices and data, read n x k, are the lists and their weights)."""

    rated: np.ndarray
    blocks: tuple[slice, ...]
    d2: np.ndarray
    kth: np.ndarray
    mass: np.ndarray
    matrices: tuple[sparse.csr_matrix, ...]
    parts: tuple[np.ndarray, ...]  # rated[:, block], contiguous (what knn.predict compares)
    norms: tuple[np.ndarray, ...]  # their squared norms per row

    @property
    def n(self) -> int:
        return len(self.rated)

    def lists(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, weights), n x k each, of one block's lists."""
        m = self.matrices[block]
        return m.indices.reshape(self.n, -1), m.data.reshape(self.n, -1)


@dataclass
class _Entry:
    neighbours: Neighbours
    fitted: Any = None  # the last knn.Taste made from these rows
    inputs: tuple = field(default_factory=tuple)  # what it was fitted from (recall())


_CACHE: OrderedDict[int, _Entry] = OrderedDict()
_LOCK = threading.Lock()
_NEXT = [0]


def find(
    rated: np.ndarray, blocks: Sequence[slice], previous: Neighbours | None = None
) -> Neighbours:
    """The lists of rated (n x D float32), extending previous (the lists of rated's first rows)
    or, without it (or while its lists are not full), from scratch."""
    blocks = tuple(blocks)
    if previous is not None and K <= previous.n < len(rated):
        return _extended(rated, previous)
    n = len(rated)
    lists = [k_smallest(squared_distances(rated[:, s], rated[:, s])) for s in blocks]
    d2 = np.stack([d for _, d in lists]).reshape(len(blocks), n, min(K, n))
    weights = [gaussian(d) for _, d in lists]
    matrices = tuple(_matrix(i, w) for (i, _), w in zip(lists, weights, strict=True))
    mass = np.stack([w.sum(axis=1) for w in weights]).reshape(len(blocks), n)
    parts = tuple(np.ascontiguousarray(rated[:, s]) for s in blocks)
    norms = tuple((part * part).sum(axis=1) for part in parts)
    kth = d2.max(axis=2, initial=0.0)
    return Neighbours(rated, blocks, d2, kth, mass, matrices, parts, norms)


def _extended(rated: np.ndarray, previous: Neighbours) -> Neighbours:
    """previous's lists with rated's rows after previous.n merged in: the new rows' distances
    to all n rows, every block at once (m x n x columns), give the new rows' lists; an old
    row's list changes only where a new row comes nearer than its K-th (a few dozen rows of
    a thousand per block), and only those are merged and re-weighted."""
    blocks, n0, n = previous.blocks, previous.n, len(rated)
    columns = np.concatenate([np.arange(s.start, s.stop) for s in blocks])
    starts = np.cumsum([0] + [s.stop - s.start for s in blocks])[:-1]
    picked = rated[:, columns]
    diff = picked[n0:, None, :] - picked[None, :, :]
    new_d = np.add.reduceat(diff * diff, starts, axis=2).transpose(2, 0, 1)  # blocks x m x n
    new_i, new_d2 = k_smallest(new_d)
    new_w = gaussian(new_d2)
    d2 = np.concatenate([previous.d2, new_d2], axis=1)
    kth = np.concatenate([previous.kth, new_d2.max(axis=2)], axis=1)
    mass = np.concatenate([previous.mass, new_w.sum(axis=2)], axis=1)
    nearer = new_d[:, :, :n0].min(axis=1) < previous.kth
    added = np.arange(n0, n, dtype=np.int32)
    matrices = []
    for b in range(len(blocks)):
        rows = np.flatnonzero(nearer[b])
        old_i, old_w = previous.lists(b)
        idx, w = np.concatenate([old_i, new_i[b]]), np.concatenate([old_w, new_w[b]])
        sel, near = k_smallest(np.concatenate([d2[b, rows], new_d[b, :, rows]], axis=1))
        together = np.concatenate([idx[rows], np.broadcast_to(added, (len(rows), n - n0))], 1)
        idx[rows], d2[b, rows], w[rows] = np.take_along_axis(together, sel, 1), near, gaussian(near)
        kth[b, rows], mass[b, rows] = near.max(axis=1), w[rows].sum(axis=1)
        matrices.append(_matrix(idx, w))
    new_parts = [rated[n0:, s] for s in blocks]
    parts = tuple(np.concatenate([a, b]) for a, b in zip(previous.parts, new_parts, strict=True))
    norms = tuple(
        np.concatenate([a, (b * b).sum(axis=1)])
        for a, b in zip(previous.norms, new_parts, strict=True)
    )
    return Neighbours(rated, blocks, d2, kth, mass, tuple(matrices), parts, norms)


def _matrix(idx: np.ndarray, w: np.ndarray) -> sparse.csr_matrix:
    """The n x n sparse matrix of weights w (n x k) at columns idx (n x k) of each row (w and
    idx whole arrays, not views: scipy copies views of larger arrays)."""
    n, k = idx.shape
    pointers = np.arange(0, n * k + 1, max(k, 1), dtype=np.int32)[: n + 1]
    if k == 0:
        pointers = np.zeros(n + 1, np.int32)
    return sparse.csr_matrix((w.ravel(), idx.ravel(), pointers), shape=(n, n))


def gaussian(d2: np.ndarray) -> np.ndarray:
    """The kNN's weight of a neighbour at squared distance d2."""
    return np.exp(d2.astype(np.float64) * (-0.5 / BANDWIDTH**2))


def of(rated: np.ndarray, blocks: Sequence[slice]) -> Neighbours:
    """The lists of rated: kept, extended from the longest kept prefix, or found, then kept."""
    blocks = tuple(blocks)
    with _LOCK:
        key, entry = _longest_prefix(rated, blocks)
    if entry is not None and entry.neighbours.n == len(rated):
        with _LOCK:
            _CACHE.move_to_end(key)
        return entry.neighbours
    previous = None if entry is None else entry.neighbours
    found = find(np.array(rated, np.float32), blocks, previous)  # a copy: the caller's may change
    with _LOCK:
        if entry is not None:
            _CACHE.pop(key, None)  # the shorter profile is superseded
        _NEXT[0] += 1
        _CACHE[_NEXT[0]] = _Entry(found)
        _evict()
    return found


def recall(found: Neighbours, inputs: tuple[np.ndarray | float | object, ...]) -> Any:
    """The fit last remembered for these lists from equal inputs (arrays compared by value,
    anything else by identity), or None."""
    with _LOCK:
        entry = next((e for e in _CACHE.values() if e.neighbours is found), None)
    if entry is None or len(entry.inputs) != len(inputs):
        return None
    for old, new in zip(entry.inputs, inputs, strict=True):
        same = np.array_equal(old, new) if isinstance(old, np.ndarray) else old is new
        if not same:
            return None
    return entry.fitted


def remember(found: Neighbours, inputs: tuple, fitted: Any) -> None:
    """Keep `fitted`, made from these lists and inputs (arrays are copied)."""
    kept = tuple(np.array(x) if isinstance(x, np.ndarray) else x for x in inputs)
    with _LOCK:
        for entry in _CACHE.values():
            if entry.neighbours is found:
                entry.fitted, entry.inputs = fitted, kept


def clear() -> None:
    with _LOCK:
        _CACHE.clear()


def kept_rows() -> int:
    with _LOCK:
        return sum(e.neighbours.n for e in _CACHE.values())


def squared_distances(
    a: np.ndarray, b: np.ndarray, b_norms: np.ndarray | None = None
) -> np.ndarray:
    b_norms = (b * b).sum(1) if b_norms is None else b_norms
    d2 = (a * a).sum(1)[:, None] + b_norms[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def k_smallest(d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Along the last axis, the positions of the K smallest values and those values (all of
    them when there are K or fewer)."""
    if d2.shape[-1] > K:
        idx = np.argpartition(d2, K - 1, axis=-1)[..., :K].astype(np.int32)
        return idx, np.take_along_axis(d2, idx, axis=-1)
    return np.broadcast_to(np.arange(d2.shape[-1], dtype=np.int32), d2.shape).copy(), d2


def _longest_prefix(rated: np.ndarray, blocks: tuple[slice, ...]) -> tuple[int, _Entry | None]:
    """The kept entry whose rows are the longest prefix of rated (for these blocks)."""
    best: tuple[int, _Entry | None] = (0, None)
    if len(rated) == 0:
        return best
    for key, entry in _CACHE.items():
        kept = entry.neighbours
        if kept.blocks != blocks or kept.n > len(rated) or kept.rated.shape[1] != rated.shape[1]:
            continue
        if best[1] is not None and kept.n <= best[1].neighbours.n:
            continue
        if np.array_equal(kept.rated[0], rated[0]) and np.array_equal(kept.rated, rated[: kept.n]):
            best = (key, entry)
    return best


def _evict() -> None:
    """Drop the least recently used entries while more than MAX_ROWS rows are kept."""
    total = sum(e.neighbours.n for e in _CACHE.values())
    while total > MAX_ROWS and len(_CACHE) > 1:
        _, dropped = _CACHE.popitem(last=False)
        total -= dropped.neighbours.n
