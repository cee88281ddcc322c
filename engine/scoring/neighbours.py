"""Each rated diagram's nearest rated diagrams per embedding block, kept across requests.

knn.fit smooths a user's ratings over, per block, each rated diagram's K nearest rated
diagrams (itself included). Finding them from scratch is blocks x n^2 distances and a
partial sort per row: a quarter of a second at n = 1,000, on every request. But a profile
only grows: the store lists a user's ratings oldest first (engine/store/diagrams.py), so a
new rating appends a row, and it changes only the lists of the rows it lands near. So the
lists are kept, in a process-wide LRU of at most MAX_ROWS rated rows, and extended: the m
new rows' distances to all n (m x n per block) give their own lists, and each new row takes
the place of the farthest in every old list it comes nearer than. The arrays have room for
GROWTH (or n / 2) more rows and are grown in place, so a request copies nothing of the n
rows; the lists of the shorter profile are then stale, which is why a profile's lists are
only read with its lock held (held()). A profile whose rows are not an extension of a kept
one (a rating changed moves its row to the end, another embedder) is found from scratch.

Each entry also holds the last fit made from it (knn.Taste) with what it was fitted from, so
that a user asking again with the same ratings is served without refitting (remember(),
recall()); any change of a row, a rating, a prior or the population misses. A longer
profile's fit gets it too, to grow its evidence windows (evidence.py) rather than start
them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.sparse import _sparsetools

K = 30
BANDWIDTH = 0.1  # of the Gaussian weights (knn.py)
MAX_ROWS = 10_000  # rated rows kept in all: about 9 KB each (18 blocks of K), 90 MB
MAX_BYTES = 256 * 2**20  # and in bytes, with the room to grow and the evidence windows
GROWTH = 64  # rows of room a profile's storage gets beyond its rows (or half of them)


@dataclass(frozen=True)
class Neighbours:
    """rated: n x D (float32); per block, row i's k = min(K, n) nearest rows (in no particular
    order): their indices (idx, blocks x n x k int32), squared distances (d2, float32) and
    Gaussian weights (w, float64), the largest distance of each list (kth: a new row nearer
    joins the list) and the weights' sums (mass, blocks x n). Row i of block b's weights as
    a sparse n x n matrix (CSR: indices idx[b], data w[b], every row k long) is what knn.fit's
    backfitting multiplies by (smooth())."""

    rated: np.ndarray
    blocks: tuple[slice, ...]
    idx: np.ndarray
    d2: np.ndarray
    w: np.ndarray
    kth: np.ndarray
    mass: np.ndarray
    norms: np.ndarray  # blocks x n: each row's squared norm per block (block_norms())
    storage: _Storage | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.rated)

    def lists(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """(indices, weights), n x k each, of one block's lists."""
        return self.idx[block], self.w[block]

    @cached_property
    def _pointers(self) -> np.ndarray:
        return np.arange(self.n + 1, dtype=np.int32) * np.int32(self.idx.shape[2])

    def smooth(self, block: int, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """out = per row, the weighted sum of x (float64, contiguous) over its list in this
        block: the sparse product W_b x. scipy's csr_matvec on the lists as they are, since
        building a csr_matrix per block and request costs more than the product itself (40
        vs 30 us at n = 1,000)."""
        out.fill(0.0)
        n, idx, w = self.n, self.idx[block].ravel(), self.w[block].ravel()
        _sparsetools.csr_matvec(n, n, self._pointers, idx, w, x, out)
        return out


@dataclass(eq=False)
class _Storage:
    """The arrays behind the lists of one profile, with room for GROWTH more rows: the fields
    of a Neighbours are views of their first n rows. Only the newest lists (owner) grow them,
    in place (a longer profile's lists change some of the old rows' lists), so a Neighbours
    whose storage another owns is stale, and lock is held while they are read or grown."""

    idx: np.ndarray  # blocks x capacity x k
    d2: np.ndarray
    w: np.ndarray
    kth: np.ndarray  # blocks x capacity
    mass: np.ndarray
    norms: np.ndarray
    owner: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, kept: Neighbours, capacity: int) -> _Storage:
        """Room for capacity rows, kept's copied in."""
        nb, n, k = kept.idx.shape
        out = cls(
            np.empty((nb, capacity, k), np.int32), np.empty((nb, capacity, k), np.float32),
            np.empty((nb, capacity, k)), np.empty((nb, capacity), np.float32),
            np.empty((nb, capacity)), np.empty((nb, capacity), np.float32),
        )  # fmt: skip
        for name in ("idx", "d2", "w", "kth", "mass", "norms"):
            getattr(out, name)[:, :n] = getattr(kept, name)
        return out

    @property
    def capacity(self) -> int:
        return self.idx.shape[1]

    def view(self, rated: np.ndarray, blocks: tuple[slice, ...]) -> Neighbours:
        """The lists of rated, its first len(rated) rows, now the owner."""
        n = len(rated)
        arrays = (self.idx, self.d2, self.w, self.kth, self.mass, self.norms)
        self.owner = Neighbours(rated, blocks, *(a[:, :n] for a in arrays), storage=self)
        return self.owner


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
    n, k = len(rated), min(K, len(rated))
    lists = [k_smallest(squared_distances(rated[:, s], rated[:, s])) for s in blocks]
    idx = np.stack([i for i, _ in lists]).reshape(len(blocks), n, k)
    d2 = np.stack([d for _, d in lists]).reshape(len(blocks), n, k)
    w = gaussian(d2)
    kth = d2.max(axis=2, initial=0.0)
    found = Neighbours(rated, blocks, idx, d2, w, kth, w.sum(axis=2), block_norms(rated, blocks))
    return found if n < K else _Storage.of(found, n + max(GROWTH, n // 2)).view(rated, blocks)


def _extended(rated: np.ndarray, previous: Neighbours) -> Neighbours:
    """previous's lists with rated's rows after previous.n merged in: the new rows' distances
    to all n rows, every block at once (block_distances), give the new rows' lists; an old
    row's list changes only where a new row comes nearer than its K-th (about a tenth of a
    thousand rows per block for three new rows): new row j takes the place of the farthest
    of each such list, one new row after the other, which keeps each list its row's K
    nearest. In previous's storage when it owns it and it has room (then previous is stale:
    the caller holds its lock), else in a copy with room to grow."""
    blocks, n0, n = previous.blocks, previous.n, len(rated)
    store = previous.storage
    if store is None or store.owner is not previous or store.capacity < n:
        store = _Storage.of(previous, n + max(GROWTH, n // 2))
    new_norms = block_norms(rated[n0:], blocks)
    store.norms[:, n0:n] = new_norms
    norms = store.norms[:, :n]
    new_d = block_distances(rated[n0:], rated, norms, blocks)  # blocks x m x n
    new_i, new_d2 = k_smallest(new_d)
    new_w = gaussian(new_d2)
    store.idx[:, n0:n], store.d2[:, n0:n], store.w[:, n0:n] = new_i, new_d2, new_w
    store.kth[:, n0:n], store.mass[:, n0:n] = new_d2.max(axis=2), new_w.sum(axis=2)
    idx, d2, w = store.idx[:, :n], store.d2[:, :n], store.w[:, :n]
    kth, mass = store.kth[:, :n], store.mass[:, :n]
    for j in range(n - n0):
        b, i = np.nonzero(new_d[:, j, :n0] < kth[:, :n0])  # lists row n0 + j joins
        far = d2[b, i].argmax(axis=1)
        near = new_d[b, j, i]
        weight = gaussian(near)
        mass[b, i] += weight - w[b, i, far]
        idx[b, i, far], d2[b, i, far], w[b, i, far] = n0 + j, near, weight
        kth[b, i] = d2[b, i].max(axis=1)
    return store.view(rated, blocks)


def block_norms(x: np.ndarray, blocks: Sequence[slice]) -> np.ndarray:
    """blocks x len(x): each row's squared norm in each block."""
    return np.stack([(x[:, s] * x[:, s]).sum(axis=1) for s in blocks]).reshape(len(blocks), -1)


def block_distances(
    a: np.ndarray, b: np.ndarray, b_norms: np.ndarray, blocks: Sequence[slice]
) -> np.ndarray:
    """blocks x len(a) x len(b): squared distances in every block, |a|^2 + |b|^2 - 2 a.b per
    block as squared_distances() computes them (b_norms: block_norms(b)), the products
    written into one array."""
    dots = np.empty((len(blocks), len(a), len(b)), np.result_type(a, b))
    for k, s in enumerate(blocks):
        np.matmul(a[:, s], b[:, s].T, out=dots[k])
    d2 = block_norms(a, blocks)[:, :, None] + b_norms[:, None, :] - 2.0 * dots
    return np.maximum(d2, 0.0, out=d2)


def gaussian(d2: np.ndarray) -> np.ndarray:
    """The kNN's weight of a neighbour at squared distance d2."""
    return np.exp(d2.astype(np.float64) * (-0.5 / BANDWIDTH**2))


@contextmanager
def held(rated: np.ndarray, blocks: Sequence[slice]) -> Iterator[tuple[Neighbours, Any]]:
    """The lists of rated (kept, extended from the longest kept prefix, or found, then kept)
    and the fit last remembered for the entry they came from (None without one: knn.fit
    extends its evidence windows rather than computing them again), with their storage
    locked until the block ends (a longer profile grows the same arrays in place)."""
    blocks = tuple(blocks)
    with _LOCK:
        key, entry = _longest_prefix(rated, blocks)
    store = None if entry is None else entry.neighbours.storage
    with nullcontext() if store is None else store.lock:
        if entry is not None and store is not None and store.owner is not entry.neighbours:
            entry = None  # grown in place by a longer profile meanwhile: stale
        if entry is not None and entry.neighbours.n == len(rated):
            with _LOCK:
                _CACHE.move_to_end(key)
            yield entry.neighbours, entry.fitted
            return
        kept = None if entry is None else entry.neighbours
        found = find(np.array(rated, np.float32), blocks, kept)  # a copy: the caller's may change
        with nullcontext() if found.storage in (None, store) else found.storage.lock:
            _keep(found, None if entry is None else key)
            yield found, None if entry is None else entry.fitted


def _keep(found: Neighbours, superseded: int | None) -> None:
    """Keep found's entry, dropping the shorter profile's it extends."""
    with _LOCK:
        if superseded is not None:
            _CACHE.pop(superseded, None)
        _NEXT[0] += 1
        _CACHE[_NEXT[0]] = _Entry(found)
        _evict()


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
        _evict()


def clear() -> None:
    with _LOCK:
        _CACHE.clear()


def kept_rows() -> int:
    with _LOCK:
        return sum(e.neighbours.n for e in _CACHE.values())


def kept_bytes() -> int:
    with _LOCK:
        return sum(_bytes(e) for e in _CACHE.values())


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
    """Drop the least recently used entries while more than MAX_ROWS rows or MAX_BYTES of
    arrays (lists, their room, the fits' evidence windows) are kept."""
    rows = sum(e.neighbours.n for e in _CACHE.values())
    size = sum(_bytes(e) for e in _CACHE.values())
    while (rows > MAX_ROWS or size > MAX_BYTES) and len(_CACHE) > 1:
        _, dropped = _CACHE.popitem(last=False)
        rows, size = rows - dropped.neighbours.n, size - _bytes(dropped)


def _bytes(entry: _Entry) -> int:
    kept = entry.neighbours.storage or entry.neighbours
    lists = sum(getattr(kept, name).nbytes for name in ("idx", "d2", "w", "kth", "mass", "norms"))
    return lists + sum(w.nbytes for w in getattr(entry.fitted, "windows", ()))
