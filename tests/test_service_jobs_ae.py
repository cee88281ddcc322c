"""The embeddings job: fine-tune the auto-encoder on served diagrams once enough are new,
switch to it only if it reconstructs held-out served pictures no worse, re-embed everything.

Real engine, store, pipeline backend and trainer, at a tiny size: a 4-wide auto-encoder,
a couple hundred small pictures drawn straight with OpenCV, two epochs on the CPU."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from engine.diagram.layout import layout
from engine.diagram.sketch import Sketch
from engine.diagram.text import to_text
from engine.llm import tiny
from engine.llm.load import load
from engine.llm.sampling import SamplingParams
from engine.scoring import autoencoder, content
from engine.scoring.cnn import ReadabilityCNN
from engine.service.config import Settings
from engine.service.engine import Engine, history_arrays
from engine.service.pipeline_backend import PipelineBackend, diagram_of
from engine.store.diagrams import Answered, NewDiagram
from engine.store.scorers import current_scorers, set_current_scorer
from training.train_ae import FinetuneConfig, read_png
from training.trainer import PipelineTrainer

TINY_AE = FinetuneConfig(epochs=2, batch_size=32, lr=1e-2, synthetic=0.02, max_synthetic=3)
NEEDED = 120


@pytest.fixture(scope="module")
def lm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    torch.manual_seed(0)
    return load(str(tiny.save(tmp_path_factory.mktemp("m"), "llama")), device="cpu")


def picture(rng: np.random.Generator) -> bytes:
    """A small diagram-like PNG: a few filled boxes joined by lines, on white."""
    image = np.full((96, 160, 3), 255, np.uint8)
    centres = []
    for _ in range(rng.integers(2, 6)):
        x, y = int(rng.integers(8, 140)), int(rng.integers(8, 80))
        colour = tuple(int(c) for c in rng.integers(0, 230, 3))
        cv2.rectangle(image, (x - 6, y - 4), (x + 6, y + 4), colour, -1)
        centres.append((x, y))
    for a, b in zip(centres, centres[1:], strict=False):
        cv2.line(image, a, b, (40, 40, 40), 1)
    return cv2.imencode(".png", image)[1].tobytes()


def base_autoencoder(data_dir: Path) -> Path:
    """An untrained tiny auto-encoder, made the one in use (as a past job would have)."""
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    embedder = autoencoder.Embedder(autoencoder.ConvAE(latent=4, width=4).eval(), {})
    samples = [cv2.imdecode(np.frombuffer(picture(rng), np.uint8), 1) for _ in range(8)]
    embedder.stats = autoencoder.block_stats(embedder.raw(samples))
    folder = data_dir / "scorers" / "autoencoder" / "base"
    autoencoder.save(embedder, folder)
    set_current_scorer(data_dir, "autoencoder", folder)
    return folder


@asynccontextmanager
async def started(
    lm: Any, data_dir: Path, trainer_class: type[PipelineTrainer] = PipelineTrainer
) -> AsyncIterator[Engine]:
    s = Settings(secret="s", data_dir=data_dir, retrain_interval_min=0.0, device="cpu")
    s = Settings(**{**s.__dict__, "ae_min_new_diagrams": NEEDED})
    base = autoencoder.load(base_autoencoder(data_dir), "cpu")
    backend = PipelineBackend(
        lm, ReadabilityCNN(width=4).eval(), base, None, SamplingParams(max_new_tokens=8)
    )
    engine = Engine(s, backend, trainer_class(s, ae=TINY_AE))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def node_list(k: int) -> str:
    """A real node list (the pictures above stand in for its render: the job never checks)."""
    return to_text(layout(Sketch(layers=(2, 1 + k % 5, 1), shape=("circle", "rectangle")[k % 2])))


def taste(embedder: autoencoder.Embedder, pictures: list[Path], texts: list[str]) -> np.ndarray:
    """What the engine stores for these pictures and node lists with this auto-encoder."""
    images = embedder.embed([read_png(p) for p in pictures])
    return content.combine(images, embedder.blocks, [diagram_of(t) for t in texts])


async def serve(engine: Engine, request_id: str, n: int, seed: int) -> list[str]:
    """n shown diagrams of one request, stored with an embedding from an older, other-sized
    embedder, plus one candidate that was not shown (no picture)."""
    db, rng = engine.db, np.random.default_rng(seed)
    await db.requests.create(request_id, "asker", "a network 2 3 1", n + 1, n)
    old = np.arange(3, dtype=np.float32).tobytes()
    rows = [
        NewDiagram(f"{request_id}-{k}", k, k + 1, "t", node_list(k), True, True,
                   db.images.save(picture(rng)), old, cnn_readability=2.0)
        for k in range(n)
    ]  # fmt: skip
    rows.append(NewDiagram(f"{request_id}-x", n, None, "t", None, False, False, None, old))
    await db.diagrams.save_answer(request_id, Answered("p", None, "base", {}), rows)
    return [r.id for r in rows[:n]]


async def run_job(engine: Engine) -> dict[str, Any]:
    assert engine.jobs is not None
    job = await engine.db.jobs.get(await engine.jobs.run("embeddings"))
    assert job is not None and job["status"] == "done", job
    return job["result"]


async def stored(engine: Engine) -> dict[str, tuple[str | None, bytes | None]]:
    rows = await engine.db.db.fetchall("SELECT id, image, embedding FROM diagrams")
    return {r["id"]: (r["image"], r["embedding"]) for r in rows}


async def test_enough_new_diagrams_fine_tune_switch_and_re_embed_everything(
    lm: Any, tmp_path: Path
) -> None:
    async with started(lm, tmp_path) as engine:
        base = current_scorers(tmp_path)["autoencoder"]
        ids = await serve(engine, "r1", NEEDED - 20, seed=0)
        await engine.db.ratings.upsert("rater", ids[0], 5)

        # Not enough yet: no training, but the other-sized embeddings (an older embedder's:
        # no profile can use them) are replaced by the served one's.
        first = await run_job(engine)
        assert first == {"new_diagrams": NEEDED - 20, "needed": NEEDED, "trained": False,
                         "embedded": NEEDED - 20}  # fmt: skip
        assert current_scorers(tmp_path)["autoencoder"] == base
        rows = await stored(engine)
        pictures = [engine.db.images.path(rows[i][0]) for i in ids]
        texts = [node_list(k) for k in range(len(ids))]
        got = np.stack([np.frombuffer(rows[i][1], np.float32) for i in ids])
        np.testing.assert_allclose(got, taste(engine.backend.embedder, pictures, texts), atol=1e-4)
        assert (await run_job(engine))["embedded"] == 0  # nothing left to embed

        ids += await serve(engine, "r2", 20, seed=1)
        second = await run_job(engine)
        assert second["trained"] and second["switched"] and second["new_diagrams"] == NEEDED
        assert second["new_error"] <= second["old_error"] and second["old_error"] > 0
        assert second["training"]["served"] == NEEDED and second["training"]["held_out"] == 12
        assert second["rewritten"] == NEEDED and second["late"] == 0
        folder = Path(second["folder"])
        assert current_scorers(tmp_path)["autoencoder"] == folder != base
        assert folder.parent == base.parent and (folder / "model.safetensors").is_file()

        # Every shown diagram now holds the new network's taste embedding of its picture and
        # node list, the same one the engine computes for a new request; the unshown one none.
        served = autoencoder.load(folder, "cpu")
        assert engine.backend.embedder.dim == served.dim == 4 + autoencoder.descriptors.SIZE
        assert engine.backend.dim == served.dim + content.SIZE
        rows = await stored(engine)
        assert rows["r1-x"] == (None, None)
        pictures = [engine.db.images.path(rows[i][0]) for i in ids]
        texts = [node_list(k) for k in range(NEEDED - 20)] + [node_list(k) for k in range(20)]
        expected = taste(served, pictures, texts)
        got = np.stack([np.frombuffer(rows[i][1], np.float32) for i in ids])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)  # batch-size float noise
        again = engine.backend.embed([pictures[0].read_bytes()], [texts[0]])
        np.testing.assert_allclose(again[0], got[0], rtol=1e-4, atol=1e-4)  # batch-size float noise
        base_vector = taste(autoencoder.load(base, "cpu"), pictures[:1], texts[:1])[0]
        assert not np.allclose(base_vector, got[0], atol=1e-3)
        # A rater's profile reads the stored embeddings and readability.
        rated, scores, readability = history_arrays(await engine.db.diagrams.history("rater"))
        assert rated.shape == (1, engine.backend.dim) and np.array_equal(rated[0], got[0])
        assert scores.tolist() == [5.0] and readability.tolist() == [2.0]

        # Nothing new since that fine-tune: no second one.
        third = await run_job(engine)
        assert third["new_diagrams"] == 0 and not third["trained"]
        assert current_scorers(tmp_path)["autoencoder"] == folder


class WorseTrainer(PipelineTrainer):
    """Fine-tunes for real, but the new network measures worse on the held-out pictures."""

    def autoencoder(
        self, images: list[Path], node_lists: list[str | None], out_dir: Path
    ) -> dict[str, Any]:
        report = super().autoencoder(images, node_lists, out_dir)
        return report | {"new_error": report["old_error"] * 1.5}


async def test_a_fine_tune_that_reconstructs_worse_is_kept_but_not_served(
    lm: Any, tmp_path: Path
) -> None:
    async with started(lm, tmp_path, WorseTrainer) as engine:
        base = current_scorers(tmp_path)["autoencoder"]
        ids = await serve(engine, "r1", NEEDED, seed=0)
        result = await run_job(engine)
        assert result["trained"] and not result["switched"]
        assert result["new_error"] == 1.5 * result["old_error"]
        assert Path(result["folder"], "model.safetensors").is_file()
        assert current_scorers(tmp_path)["autoencoder"] == base
        # Stored embeddings are the served network's (the older, other-sized ones replaced).
        rows = await stored(engine)
        pictures = [engine.db.images.path(rows[i][0]) for i in ids]
        got = np.stack([np.frombuffer(rows[i][1], np.float32) for i in ids])
        want = taste(autoencoder.load(base, "cpu"), pictures, [node_list(k) for k in range(NEEDED)])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        assert (await run_job(engine))["new_diagrams"] == 0  # the count starts again
