"""ORPO preference pairs: rating pairs by margin and majority, validity pairs, TRL JSONL."""

import json
from pathlib import Path

from engine.service.preferences import (
    build_pairs,
    rating_pairs,
    summary,
    validity_pairs,
    write_jsonl,
)
from engine.store.preference_rows import Rating, Written, read_rows


def written(
    did: str,
    request: str = "r1",
    rank: int | None = None,
    valid: bool = True,
    readability: float | None = 0.9,
    natural_stop: bool | None = True,
) -> Written:
    return Written(
        did, request, f"prompt {request}", f"text {did}", valid, natural_stop, readability, rank
    )


def test_a_higher_rating_by_the_margin_makes_a_pair_within_one_request() -> None:
    ws = [written("a", rank=1), written("b", rank=2), written("c", rank=3), written("x", "r2")]
    ratings = [Rating("u", "a", 5), Rating("u", "b", 4), Rating("u", "c", 2), Rating("u", "x", 1)]
    pairs = rating_pairs(ws, ratings, margin=2)
    assert {(p.chosen, p.rejected) for p in pairs} == {("text a", "text c"), ("text b", "text c")}
    assert all(p.prompt == "prompt r1" and p.source == "rating" for p in pairs)
    assert len(rating_pairs(ws, ratings, margin=1)) == 3


def test_different_users_scores_are_never_compared_and_majorities_win() -> None:
    ws = [written("a", rank=1), written("b", rank=2)]
    assert rating_pairs(ws, [Rating("u", "a", 5), Rating("v", "b", 1)], margin=1) == []
    votes = [Rating(u, "a", 5) for u in "uvw"] + [Rating(u, "b", 1) for u in "uvw"]
    votes += [Rating("z", "a", 1), Rating("z", "b", 5)]  # one dissenter
    pairs = rating_pairs(ws, votes, margin=2)
    assert [(p.chosen, p.rejected) for p in pairs] == [("text a", "text b")]
    tie = [Rating("u", "a", 5), Rating("u", "b", 1), Rating("v", "a", 1), Rating("v", "b", 5)]
    assert rating_pairs(ws, tie, margin=2) == []


def test_a_good_first_candidate_beats_invalid_unreadable_and_cut_off_ones() -> None:
    ws = [
        written("top", rank=1),
        written("ok", rank=2),
        written("invalid", valid=False, readability=None),
        written("messy", readability=0.2),
        written("cut", natural_stop=False),
        written("bad-first", "r2", rank=1, valid=False),
        written("bad", "r2", valid=False),
    ]
    pairs = validity_pairs(ws, readable_min=0.5)
    assert [(p.chosen, p.rejected) for p in pairs] == [
        ("text top", "text invalid"),
        ("text top", "text messy"),
        ("text top", "text cut"),
    ]


def test_build_drops_self_pairs_and_repeats() -> None:
    ws = [written("a", rank=1), Written("b", "r1", "prompt r1", "text a", False, True, 0.9, None)]
    assert build_pairs(ws, [], margin=2) == []  # chosen and rejected read the same
    ws = [written("a", rank=1), written("b", valid=False)]
    ratings = [Rating("u", "a", 5), Rating("u", "b", 1)]
    pairs = build_pairs(ws, ratings, margin=2)
    assert len(pairs) == 1 and summary(pairs) == {
        "pairs": 1,
        "rating_pairs": 1,
        "validity_pairs": 0,
    }


def test_jsonl_has_exactly_trls_three_fields(tmp_path: Path) -> None:
    pairs = build_pairs([written("a", rank=1), written("b", valid=False)], [], margin=2)
    path = tmp_path / "p" / "pairs.jsonl"
    write_jsonl(pairs, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == [{"prompt": "prompt r1", "chosen": "text a", "rejected": "text b"}]
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


async def test_pairs_can_be_read_from_a_live_engine_database(tmp_path: Path) -> None:
    from engine.store import Store
    from engine.store.diagrams import Answered, NewDiagram

    store = await Store.open(tmp_path)
    try:
        await store.requests.create("r1", "u", "draw it", 2, 1)
        rows = [
            NewDiagram("d1", 0, 1, "good", "[]", True, True, None, None, readability=0.9),
            NewDiagram("d2", 1, None, "bad", None, False, False, None, None),
        ]
        await store.diagrams.save_answer("r1", Answered("the prompt", None, "base", {}), rows)
        await store.ratings.upsert("u", "d1", 5)
        ws, ratings = read_rows(store.db.path)  # while the engine holds the database open
    finally:
        await store.close()
    assert [(w.diagram_id, w.prompt, w.valid, w.natural_stop, w.rank) for w in ws] == [
        ("d1", "the prompt", True, True, 1),
        ("d2", "the prompt", False, False, None),
    ]
    assert ratings == [Rating("u", "d1", 5)]
    assert [p.trl() for p in build_pairs(ws, ratings)] == [
        {"prompt": "the prompt", "chosen": "good", "rejected": "bad"}
    ]
