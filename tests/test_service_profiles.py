"""The profiles job: every rated diagram embedded, then what everyone's ratings teach the kNN
(engine/scoring/population.py) learnt, saved as a scorer version, served, and loaded again
after a restart. Real engine, store, pipeline backend, tiny models."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from test_service_jobs_ae import node_list, serve, started

from engine.llm import tiny
from engine.llm.load import load
from engine.scoring import knn, population
from engine.service.engine import Engine
from engine.store.scorers import current_scorers


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    torch.manual_seed(0)
    return load(str(tiny.save(tmp_path_factory.mktemp("m"), "llama")), device="cpu")


async def profiles(engine: Engine) -> dict[str, Any]:
    assert engine.jobs is not None
    job = await engine.db.jobs.get(await engine.jobs.run("profiles"))
    assert job is not None and job["status"] == "done", job
    return job["result"]


async def test_the_population_is_learnt_from_everyones_ratings_served_and_kept(
    lm: Any, tmp_path: Path
) -> None:
    async with started(lm, tmp_path) as engine:
        ids = await serve(engine, "r1", 40, seed=0)
        first = await profiles(engine)
        assert first["population"] == {"skipped": "0 ratings, 30 needed"}
        assert "population" not in current_scorers(tmp_path) and engine.backend.population is None

        # Two users, 20 ratings each: the asker likes circles (node_list(k): even k), the
        # other rates everything the same.
        for k, diagram_id in enumerate(ids[:20]):
            await engine.db.ratings.upsert("asker", diagram_id, 5 if k % 2 == 0 else 2)
            await engine.db.ratings.upsert("other", ids[20 + k], 3)
        result = await profiles(engine)
        assert result["embedded"] == 40 and result["users"] == 2 and result["ratings"] == 40
        learnt = result["population"]
        assert learnt["users"] == 2 and learnt["ratings"] == 40 and learnt["patterns"] >= 1
        folder = Path(learnt["folder"])
        assert current_scorers(tmp_path)["population"] == folder
        served = engine.backend.population
        assert isinstance(served, knn.Population) and served.slope == learnt["slope"]
        assert served.patterns is not None and served.fits(len(engine.backend.blocks))
        assert population.load(folder / population.FILE).noise == served.noise
        assert "circle" in node_list(0) and "circle" not in node_list(1)

    async with started(lm, tmp_path) as engine:  # a restart serves the learnt population
        again = engine.backend.population
        assert again is not None and again.slope == served.slope
        np.testing.assert_allclose(again.patterns, served.patterns)
