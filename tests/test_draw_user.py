"""`diagrammer draw --user`: candidates ranked for one user, from a ratings file or the store.

Real parts throughout: the shipped CNN and auto-encoder on the CPU, a real SQLite store, the
pipeline's reader on fixed sketches, and a tiny random language model for the CLI run.
"""

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from diagrammer.cli import main
from diagrammer.commands.draw import table
from diagrammer.errors import UserError
from diagrammer.user_ratings import engine_population, from_file, load, read_ratings
from engine.diagram.read import to_diagram
from engine.diagram.render import render, render_array
from engine.diagram.sketch import Sketch, sketch_to_text
from engine.diagram.text import to_text
from engine.llm import tiny
from engine.llm.generate import Generation
from engine.pipeline import Candidate, read, spec_of
from engine.scoring import knn, population, profile
from engine.scoring.priors import UNKNOWN_READABILITY
from engine.scoring.profile import Models, Profile, score
from engine.scoring.user_rank import UserRanker
from engine.store.diagrams import Answered, NewDiagram
from engine.store.scorers import set_current_scorer
from engine.store.store import Store

DESCRIPTION = "an MLP with 3 inputs, a hidden layer of 5 and 2 outputs"
SHAPES = ("circle", "rectangle", "round rectangle")
RATED_LAYERS = ((2, 4, 1), (4, 3, 3), (2, 6, 2))  # not the request's: taste must generalise


@pytest.fixture(scope="module")
def models() -> Models:
    return Models.shipped("cpu")


def _sketch(shape: str, layers: tuple[int, ...] = (3, 5, 2)) -> str:
    return sketch_to_text(Sketch(layers=layers, shape=shape))


def _candidates() -> list[Candidate]:
    """The three shapes drawn as asked, one with the wrong hidden layer, one unreadable."""
    spec = spec_of(DESCRIPTION)
    texts = [*(_sketch(s) for s in SHAPES), _sketch("circle", (3, 4, 2)), "garbage"]
    return [read(Generation(t, tokens=5, finished=True, seconds=0.0), spec) for t in texts]


def _shape(c: Candidate) -> str:
    return c.diagram.nodes[0].shape


def _rated(liked: str) -> list[tuple[str, int]]:
    """(node list, rating): the liked shape 5 stars, the others 1, on other layer sizes."""
    return [
        (to_text(to_diagram(_sketch(s, layers)).diagram), 5 if s == liked else 1)
        for layers in RATED_LAYERS
        for s in SHAPES
    ]


def _least_readable(models: Models) -> str:
    """The shape the CNN alone ranks last: the one a user's taste has to lift."""
    ranker = UserRanker(models, Profile.empty(models.dim), top=3)
    ranked = ranker(_candidates())
    return _shape(ranked[2])


def test_the_ranker_scores_as_the_engine_does_with_the_shipped_models(models) -> None:
    """What the ranker reports per candidate is profile.score's (the engine's scoring) of the
    candidates it could draw, with the taste embedding's content blocks."""
    cands = _candidates()
    ranker = UserRanker(models, Profile.empty(models.dim), top=3)
    ranked = ranker(cands)
    drawn = [c for c in ranked if c.parsed]
    theirs = profile.score(
        [render_array(c.diagram) for c in drawn], None, "cpu", [c.diagram for c in drawn]
    )
    for a, b in zip(drawn, theirs, strict=True):
        assert a.cnn_readability == pytest.approx(b.readability)
        assert a.expected_rating == pytest.approx(b.expected)
        np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-6)
    assert ranked[0].embedding.shape == (models.dim,)
    # The shown ones' PNG is the drawing that was scored, encoded once.
    assert [c.png is not None for c in ranked] == [True] * 3 + [False] * 2
    assert all(c.png == render(c.diagram) for c in ranked[:3])


def test_without_ratings_the_order_follows_readability_spec_first(models) -> None:
    cands = _candidates()
    ranker = UserRanker(models, Profile.empty(models.dim), top=2)
    ranked = ranker(cands)
    assert {c.text for c in ranked[:3]} == {c.text for c in cands[:3]}
    readability = [c.cnn_readability for c in ranked[:3]]
    assert readability == sorted(readability, reverse=True)
    # The wrong layer sizes go after every match, however readable; the unreadable last.
    assert ranked[3].text == cands[3].text and ranked[4].text == cands[4].text
    assert ranked[4].cnn_readability is None and ranked[4].embedding is None
    assert all(c.confidence == 0 for c in ranked)  # no ratings: the prior alone


def _write_ratings(path: Path, liked: str) -> None:
    lines = [
        json.dumps({"user_id": "alice", "node_list": t, "rating": r}) for t, r in _rated(liked)
    ]
    lines += [json.dumps({"user_id": "bob", "node_list": _sketch(liked), "rating": 1})]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_ratings_file_puts_the_users_style_first(models, tmp_path: Path) -> None:
    liked = _least_readable(models)
    path = tmp_path / "ratings.jsonl"
    _write_ratings(path, liked)
    notes: list[str] = []
    taste = load("alice", tmp_path / "no-engine", path, "cpu", notes.append)
    assert taste.profile.n == len(RATED_LAYERS) * len(SHAPES) and taste.source == str(path)
    ranker = UserRanker(taste.models, taste.profile, top=2, population=taste.population)
    ranked = ranker(_candidates())
    assert _shape(ranked[0]) == liked
    assert ranked[0].expected_rating > ranked[1].expected_rating + 1.0
    assert ranked[0].confidence > 0 and notes == []


def test_bad_lines_are_reported_by_number_and_skipped(models, tmp_path: Path) -> None:
    good = json.dumps({"user_id": "alice", "node_list": _sketch("circle"), "rating": 4})
    bad = [
        "{not json",
        "[1, 2]",
        json.dumps({"node_list": _sketch("circle"), "rating": 4}),
        json.dumps({"user_id": "alice", "node_list": _sketch("circle"), "rating": 7}),
        json.dumps({"user_id": "alice", "node_list": _sketch("circle"), "rating": True}),
        json.dumps({"user_id": "alice", "rating": 3}),
        json.dumps({"user_id": "alice", "node_list": "layers: lots", "rating": 3}),
    ]
    path = tmp_path / "ratings.jsonl"
    path.write_text("\n".join([good, "", *bad, good]) + "\n", encoding="utf-8")
    notes: list[str] = []
    rows = read_ratings(path, "alice", notes.append)
    assert [r for _, r in rows] == [4.0, 4.0]
    assert [n.split(": skipped")[0] for n in notes] == [f"{path}:{k}" for k in range(3, 10)]
    assert "not JSON" in notes[0] and "not a JSON object" in notes[1] and "user_id" in notes[2]
    assert "from 1 to 5" in notes[3] and "from 1 to 5" in notes[4] and "node_list" in notes[5]
    assert "does not read" in notes[6]
    assert from_file(path, "alice", models, lambda _: None).n == 2


async def _fill_store(data_dir: Path, models: Models, liked: str) -> None:
    """The engine's rows for alice's ratings: taste embeddings and CNN readability as served
    (one stored without readability, as older rows are)."""
    rated = _rated(liked)
    diagrams = [to_diagram(t).diagram for t, _ in rated]
    scores = score([render_array(d) for d in diagrams], diagrams=diagrams, models=models)
    store = await Store.open(data_dir)
    try:
        await store.requests.create("r1", "alice", DESCRIPTION, len(rated), len(rated))
        rows = [
            NewDiagram(f"d{k}", k, k + 1, t, t, True, True, None, s.embedding.tobytes(),
                       cnn_readability=None if k == 0 else s.readability)
            for k, ((t, _), s) in enumerate(zip(rated, scores, strict=True))
        ]  # fmt: skip
        await store.diagrams.save_answer("r1", Answered("p", None, "base", {}), rows)
        for k, (_, rating) in enumerate(rated):
            assert await store.ratings.upsert("alice", f"d{k}", rating)
    finally:
        await store.close()


def test_the_store_is_used_when_it_exists(models, tmp_path: Path, monkeypatch) -> None:
    liked = _least_readable(models)
    asyncio.run(_fill_store(tmp_path, models, liked))
    monkeypatch.chdir(tmp_path)
    _write_ratings(tmp_path / "ratings.jsonl", "circle")  # the default file: the store wins
    notes: list[str] = []
    taste = load("alice", tmp_path, None, "cpu", notes.append)
    assert taste.source == f"the store {tmp_path / 'engine.sqlite3'}" and notes == []
    assert taste.profile.n == len(RATED_LAYERS) * len(SHAPES)
    assert taste.profile.readability[0] == 2.5  # unknown: the engine's prior
    ranked = UserRanker(taste.models, taste.profile, top=2)(_candidates())
    assert _shape(ranked[0]) == liked
    assert load("nobody", tmp_path, None, "cpu", notes.append).profile.n == 0


async def _fill_old_store(data_dir: Path) -> None:
    store = await Store.open(data_dir)
    try:
        await store.requests.create("r1", "alice", DESCRIPTION, 2, 2)
        old = np.arange(3, dtype=np.float32).tobytes()  # an older embedder's width
        rows = [NewDiagram(f"d{k}", k, k + 1, "t", "t", True, True, None, old) for k in range(2)]
        await store.diagrams.save_answer("r1", Answered("p", None, "base", {}), rows)
        for k in range(2):
            await store.ratings.upsert("alice", f"d{k}", 5)
    finally:
        await store.close()


def test_old_size_embeddings_in_the_store_are_ignored_with_a_note(models, tmp_path) -> None:
    asyncio.run(_fill_old_store(tmp_path))
    notes: list[str] = []
    taste = load("alice", tmp_path, None, "cpu", notes.append)
    assert taste.profile.n == 0 and taste.profile.embeddings.shape == (0, models.dim)
    assert len(notes) == 1 and "2 stored ratings are ignored" in notes[0]
    assert f"3 wide, not {models.dim}" in notes[0] and "re-embeds" in notes[0]


def test_no_ratings_anywhere_is_a_note_not_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    notes: list[str] = []
    taste = load("alice", tmp_path / "engine", None, "cpu", notes.append)
    assert taste.profile.n == 0 and taste.source == "nowhere"
    assert "no ratings for user alice" in notes[0] and "ranking by readability" in notes[0]
    with pytest.raises(UserError, match="no such file"):
        load("alice", tmp_path, tmp_path / "missing.jsonl", "cpu", notes.append)


def test_the_engines_population_is_used_when_it_learnt_one(tmp_path: Path) -> None:
    assert engine_population(tmp_path, print) is None
    folder = tmp_path / "scorers" / "population" / "v1"
    folder.mkdir(parents=True)
    population.save(knn.Population(slope=0.5, offset=1.0), folder / population.FILE)
    set_current_scorer(tmp_path, "population", folder)
    pop = engine_population(tmp_path, print)
    assert pop is not None and pop.slope == 0.5 and pop.offset == 1.0
    (folder / population.FILE).write_text("{broken", encoding="utf-8")
    notes: list[str] = []
    assert engine_population(tmp_path, notes.append) is None and "ignoring" in notes[0]


def test_the_table_shows_the_users_columns() -> None:
    row = {"rank": 1, "file": "out/rank1.png", "text": "layers: 3 5 2", "valid": True}
    row |= {"readability": 0.9, "fidelity": 1.0, "fidelity_exact": True, "problems": []}
    scored = row | {"cnn_readability": 4.2, "expected_rating": 3.75, "confidence": 0.4}
    unread = row | {"rank": 2, "cnn_readability": None, "expected_rating": None}
    lines = table([scored, unread | {"confidence": None}]).splitlines()
    assert "expected" in lines[0] and "4.20" in lines[1] and "3.75" in lines[1]
    assert "expected" not in table([row]).splitlines()[0]


def test_draw_with_user_prints_the_users_scores(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DIAGRAMMER_CACHE", str(tmp_path / "cache"))  # not the user's cache
    model = tiny.save(tmp_path / "m", "qwen2")
    ratings = tmp_path / "ratings.jsonl"
    _write_ratings(ratings, "circle")
    argv = ["draw", "an MLP 2-3-1", "--model", str(model), "--adapter", "none", "--json"]
    argv += ["--candidates", "2", "--top", "2", "--max-new-tokens", "5", "--seed", "3"]
    argv += ["--out", str(tmp_path / "out"), "--device", "cpu"]
    argv += ["--user", "alice", "--ratings", str(ratings), "--data-dir", str(tmp_path / "e")]
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 1)  # a random model rarely draws anything; the run must not crash
    payload = json.loads(captured.out)
    n = len(RATED_LAYERS) * len(SHAPES)
    assert payload["user"] == {"id": "alice", "ratings": n, "source": str(ratings)}
    assert all("expected_rating" in r and "confidence" in r for r in payload["results"])
    assert f"ranking for user alice: {n} ratings from {ratings}" in captured.err


def test_user_options_are_checked_before_loading_anything(tmp_path: Path, capsys) -> None:
    assert main(["draw", "an MLP 2-3-1", "--user", " "]) == 2
    assert "--user is empty" in capsys.readouterr().err
    assert main(["draw", "an MLP 2-3-1", "--ratings", str(tmp_path / "r.jsonl")]) == 2
    assert "are for --user" in capsys.readouterr().err
    missing = str(tmp_path / "r.jsonl")
    assert main(["draw", "an MLP 2-3-1", "--user", "alice", "--ratings", missing]) == 2
    assert "no such file" in capsys.readouterr().err


def test_stored_ratings_become_the_profile_the_engine_ranks_with() -> None:
    """A rating stored without its CNN readability gets the prior's stand-in; embeddings of
    another width (an older embedder's) or no ratings leave the profile empty."""
    rated, stars = np.ones((2, 3), np.float32), np.array([5.0, 1.0])
    got = Profile.stored(rated, stars, np.array([np.nan, 4.0]), dim=3)
    assert got.n == 2 and list(got.readability) == [UNKNOWN_READABILITY, 4.0]
    assert Profile.stored(rated, stars, np.array([1.0, 2.0]), dim=4).n == 0
    empty = Profile.stored(np.zeros((0, 0), np.float32), np.zeros(0), np.zeros(0), dim=3)
    assert empty.n == 0 and empty.embeddings.shape == (0, 3)
