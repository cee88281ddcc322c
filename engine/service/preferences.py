"""ORPO preference pairs from the engine's store, as TRL's prompt/chosen/rejected JSON lines.

The rows come from engine/store/preference_rows.py.

Two kinds of pair, both within one request (same prompt, so the model learns which of its
own answers to prefer):

- rating pairs: two candidates the same user rated, the higher one chosen when the scores
  differ by at least `margin`. Votes are summed over users: when users disagree about a
  pair, the side with more votes wins, and a tie gives no pair.
- validity pairs: the request's first shown candidate, when valid, readable and ended by
  itself, chosen over each candidate of the same request that is invalid, unreadable
  (readability below `readable_min`) or was cut off at the token limit.

Chosen and rejected are what the model wrote (sketches), never the expanded node lists.
Pairs with identical texts are dropped, and each (prompt, chosen, rejected) appears once.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from engine.store.preference_rows import Rating, Written


@dataclass(frozen=True)
class Pair:
    prompt: str
    chosen: str
    rejected: str
    source: str  # "rating" | "validity"

    def trl(self) -> dict[str, str]:
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}


def rating_pairs(written: Iterable[Written], ratings: Iterable[Rating], margin: int) -> list[Pair]:
    by_id = {w.diagram_id: w for w in written}
    scores: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # (user, request) -> ...
    for r in ratings:
        if r.diagram_id in by_id:
            scores[(r.user_id, by_id[r.diagram_id].request_id)][r.diagram_id] = r.score
    votes: dict[tuple[str, str], int] = defaultdict(int)  # (winner, loser) -> users
    for rated in scores.values():
        for a, b in combinations(sorted(rated), 2):
            if rated[a] - rated[b] >= margin:
                votes[(a, b)] += 1
            elif rated[b] - rated[a] >= margin:
                votes[(b, a)] += 1
    pairs = []
    for (win, lose), n in sorted(votes.items()):
        if n > votes.get((lose, win), 0):
            pairs.append(Pair(by_id[win].prompt, by_id[win].text, by_id[lose].text, "rating"))
    return pairs


def validity_pairs(written: Iterable[Written], readable_min: float) -> list[Pair]:
    requests: dict[str, list[Written]] = defaultdict(list)
    for w in written:
        requests[w.request_id].append(w)
    pairs = []
    for candidates in requests.values():
        first = next((w for w in candidates if w.rank == 1), None)
        if first is None or _bad(first, readable_min):
            continue
        pairs += [
            Pair(first.prompt, first.text, w.text, "validity")
            for w in candidates
            if _bad(w, readable_min)
        ]
    return pairs


def build_pairs(
    written: list[Written], ratings: list[Rating], margin: int = 2, readable_min: float = 0.5
) -> list[Pair]:
    """Rating pairs, then validity pairs; without self-pairs and repeats."""
    out, seen = [], set()
    for p in rating_pairs(written, ratings, margin) + validity_pairs(written, readable_min):
        key = (p.prompt, p.chosen, p.rejected)
        if p.chosen.strip() != p.rejected.strip() and key not in seen:
            seen.add(key)
            out.append(p)
    return out


def write_jsonl(pairs: list[Pair], path: Path) -> None:
    """Write atomically: a reader (a training run) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for p in pairs:
                f.write(json.dumps(p.trl(), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary(pairs: list[Pair]) -> dict[str, int]:
    return {
        "pairs": len(pairs),
        "rating_pairs": sum(p.source == "rating" for p in pairs),
        "validity_pairs": sum(p.source == "validity" for p in pairs),
    }


def _bad(w: Written, readable_min: float) -> bool:
    unreadable = w.readability is not None and w.readability < readable_min
    return not w.valid or unreadable or w.natural_stop is False
