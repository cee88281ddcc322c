"""Where `diagrammer draw --user ID` finds a user's taste, whichever exists at the time.

1. A ratings file named with --ratings: JSONL, one rating a line,
   {"user_id": "...", "node_list": "<node list or sketch>", "rating": 1..5}.
2. Else the engine's store, <data dir>/engine.sqlite3 (data dir: --data-dir, else
   ENGINE_DATA_DIR from the environment or .env, else the engine's default data/engine):
   the embeddings and CNN readability the engine stored when it served the rated diagrams.
3. Else ./ratings.jsonl, the file of 1. at its default place.
4. Else no ratings: the ranking is the CNN readability's alone.

A file's diagrams are rendered and embedded here, with the same models as the candidates.
Those models, and the population prior (what everyone's ratings teach the kNN), are the
engine's own when its jobs trained them (<data dir>/scorers/), else the shipped ones.
Bad lines are reported with their number and skipped, never fatal.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diagrammer.errors import UserError
from engine.diagram.model import Diagram
from engine.scoring import knn
from engine.scoring.profile import Models, Profile, score

DEFAULT_RATINGS = Path("ratings.jsonl")
STORE_FILE = "engine.sqlite3"
Say = Callable[[str], None]


@dataclass(frozen=True)
class Taste:
    """One user's profile, where it came from, and the models and population to use it with."""

    profile: Profile
    source: str  # a sentence: "the store <path>", "<path>", "nowhere"
    models: Models
    population: knn.Population | None


def default_data_dir(env_file: Path = Path(".env")) -> Path:
    """The engine's data dir: ENGINE_DATA_DIR (environment over .env), else its default."""
    from engine.service.config import Settings

    return Settings.load(env_file, need_secret=False).data_dir


def load(
    user_id: str,
    data_dir: Path,
    ratings_file: Path | None,
    device: str | None,
    say: Say,
) -> Taste:
    """The user's taste from the first source that exists (see the module docstring)."""
    models, population = engine_models(data_dir, device, say), engine_population(data_dir, say)
    store = data_dir / STORE_FILE
    if ratings_file is None and store.is_file():
        profile = from_store(data_dir, user_id, models.dim, say)
        return Taste(profile, f"the store {store}", models, population)
    path = ratings_file or DEFAULT_RATINGS
    if path.is_file():
        return Taste(from_file(path, user_id, models, say), str(path), models, population)
    if ratings_file is not None:
        raise UserError(f"--ratings {ratings_file}: no such file")
    say(f"no ratings for user {user_id}: neither {store} nor {path} exists; ranking by readability")
    return Taste(Profile.empty(models.dim), "nowhere", models, population)


def engine_models(data_dir: Path, device: str | None, say: Say) -> Models:
    """The CNN and auto-encoder the engine serves: its fine-tuned ones, else the shipped."""
    from engine.scoring import autoencoder, cnn
    from engine.store.scorers import current_scorers

    current = current_scorers(data_dir)
    for kind in ("cnn", "autoencoder"):
        if kind in current:
            say(f"using the engine's {kind}: {current[kind]}")
    return Models(
        cnn.load(current["cnn"], device) if "cnn" in current else cnn.default_model(device),
        autoencoder.load(current["autoencoder"], device)
        if "autoencoder" in current
        else autoencoder.default_embedder(device),
    )


def engine_population(data_dir: Path, say: Say) -> knn.Population | None:
    """What everyone's ratings taught the kNN, if the engine learnt it; None: the defaults."""
    from engine.scoring import population
    from engine.store.scorers import current_scorers

    folder = current_scorers(data_dir).get("population")
    if folder is None:
        return None
    try:
        return population.load(folder / population.FILE)
    except (OSError, ValueError, KeyError, TypeError) as e:
        say(f"ignoring the engine's population {folder}: {e}")
        return None


def from_store(data_dir: Path, user_id: str, dim: int, say: Say) -> Profile:
    """The user's ratings as the engine stored them (embeddings of dim columns expected)."""
    from engine.service.engine import history_arrays

    try:
        history = asyncio.run(_history(data_dir, user_id))
    except (sqlite3.Error, OSError) as e:  # a broken or foreign file: say which, no traceback
        raise UserError(f"cannot read the engine's store {data_dir / STORE_FILE}: {e}") from None
    rated, ratings, readability = history_arrays(history)
    if len(history) > len(ratings):  # history_arrays keeps the newest embedding size only
        say(f"{len(history) - len(ratings)} of user {user_id}'s stored ratings are ignored: "
            "embedded by an older auto-encoder")  # fmt: skip
    if len(ratings) and rated.shape[1] != dim:
        say(
            f"user {user_id}'s {len(ratings)} stored ratings are ignored: their embeddings are "
            f"{rated.shape[1]} wide, not {dim} (an older embedder's; the engine's embeddings "
            "job re-embeds them)"
        )
    return Profile.stored(rated, ratings, readability, dim)  # as the engine ranks with them


async def _history(data_dir: Path, user_id: str) -> list[tuple[bytes, int, float | None]]:
    from engine.store.store import Store

    store = await Store.open(data_dir)
    try:
        return await store.diagrams.history(user_id)
    finally:
        await store.close()


def from_file(path: Path, user_id: str, models: Models, say: Say) -> Profile:
    """The user's ratings in a JSONL file, each diagram rendered and embedded here."""
    from engine.diagram.render import render_array

    rows = read_ratings(path, user_id, say)
    if not rows:
        return Profile.empty(models.dim)
    diagrams = [d for d, _ in rows]
    scores = score([render_array(d) for d in diagrams], diagrams=diagrams, models=models)
    return Profile(
        np.stack([s.embedding for s in scores]),
        np.array([r for _, r in rows], dtype=np.float64),
        np.array([s.readability for s in scores], dtype=np.float64),
    )


def read_ratings(path: Path, user_id: str, say: Say) -> list[tuple[Diagram, float]]:
    """(diagram, rating) of each of the user's lines; other users' lines are passed over."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = _rating(line, user_id)
        except ValueError as e:
            say(f"{path}:{number}: skipped: {e}")
            continue
        if row is not None:
            out.append(row)
    return out


def _rating(line: str, user_id: str) -> tuple[Diagram, float] | None:
    """One line's (diagram, rating); None for another user's; ValueError saying what's wrong."""
    from engine.diagram.model import DiagramError
    from engine.diagram.read import to_diagram

    try:
        row: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    who = row.get("user_id")
    if isinstance(who, bool) or not isinstance(who, str | int):
        raise ValueError('no "user_id" (a string)')
    if str(who) != user_id:
        return None
    rating, text = row.get("rating"), row.get("node_list")
    if isinstance(rating, bool) or not isinstance(rating, int | float) or not 1 <= rating <= 5:
        raise ValueError(f'"rating" must be a number from 1 to 5, not {rating!r}')
    if not isinstance(text, str) or not text.strip():
        raise ValueError('no "node_list" (the rated diagram\'s node list)')
    try:
        diagram = to_diagram(text).diagram
    except DiagramError as e:
        raise ValueError(f"the node list does not read: {e}") from None
    if not diagram.nodes:
        raise ValueError("the node list has no node")
    return diagram, float(rating)
