"""The pipeline backend: real pipeline, scoring and ranking, with tiny random models."""

from pathlib import Path

import numpy as np
import pytest
import torch
from aiohttp.test_utils import TestClient, TestServer
from transformers import GPT2Config, GPT2LMHeadModel

from engine.diagram.layout import layout
from engine.diagram.render import render_array
from engine.diagram.sketch import Sketch, sketch_to_text
from engine.llm import fast, prompt, tiny
from engine.llm.generate import Generation
from engine.llm.load import LoadedModel, load, prepare_tokenizer
from engine.llm.sampling import SamplingParams
from engine.pipeline import Sampled, spec_of
from engine.scoring import autoencoder, cnn, content
from engine.scoring.cnn import ReadabilityCNN
from engine.service.app import create_app
from engine.service.backend import Answer, Ask
from engine.service.config import Settings
from engine.service.pipeline_backend import PipelineBackend
from training.trainer import PipelineTrainer

SECRET = "pipeline-test-secret"
AUTH = {"Authorization": f"Bearer {SECRET}"}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> PipelineBackend:
    torch.manual_seed(0)
    lm = load(str(tiny.save(tmp_path_factory.mktemp("m"), "llama")), device="cpu")
    embedder = autoencoder.Embedder(autoencoder.ConvAE(latent=4, width=4).eval(), {})
    samples = [render_array(layout(Sketch(layers=(2, k, 1)))) for k in range(1, 7)]
    embedder.stats = autoencoder.block_stats(embedder.raw(samples))
    return PipelineBackend(
        lm, ReadabilityCNN(width=4).eval(), embedder, None, SamplingParams(max_new_tokens=8)
    )


def _answer(backend: PipelineBackend, ask: Ask, texts: list[str], description: str) -> Answer:
    """The backend's answer to `ask`, as if the model had written `texts`."""
    gens = [Generation(t, tokens=5, finished=True, seconds=0.0) for t in texts]
    sampled = Sampled([description], [spec_of(description)], ["prompt"], [gens], "m", None, 0, 0)
    stages: list[str] = []
    (answer,) = backend.score([ask], [([ask], sampled)], lambda _, stage: stages.append(stage))
    assert stages == ["ranking"] and answer is not None
    return answer


def test_candidates_are_scored_for_the_user_and_ranked_exact_first(backend) -> None:
    exact = sketch_to_text(Sketch(layers=(3, 5, 2), shape="round rectangle", size=(60, 40)))
    also = sketch_to_text(Sketch(layers=(3, 5, 2), shape="circle", size=(40, 40)))
    wrong = sketch_to_text(Sketch(layers=(3, 4, 2)))
    texts = ["garbage", wrong, exact, also]
    liked = backend.embed([_png(exact)], [_node_list(exact)])
    ask = Ask("r", "u", "-", 4, 2, np.repeat(liked, 3, 0), np.full(3, 5.0), np.full(3, np.nan))
    answer = _answer(backend, ask, texts, "an MLP with 3 inputs, a hidden layer of 5 and 2 outputs")
    order = [c.text for c in answer.candidates]
    assert set(order[:2]) == {exact, also} and order[2:] == [wrong, "garbage"]
    assert [c.png is not None for c in answer.candidates] == [True, True, False, False]
    first = answer.candidates[0]
    assert first.fidelity.exact and first.valid and first.embedding.shape == liked[0].shape
    assert first.png == _png(first.text)  # drawn once, for scoring and for the picture
    by_text = {c.text: c for c in answer.candidates}
    assert by_text[exact].expected_rating > by_text[also].expected_rating  # the user liked it
    assert by_text[exact].confidence > 0 and answer.spec["layers"] == (3, 5, 2)
    assert by_text["garbage"].node_text == "" and by_text["garbage"].problems
    assert by_text["garbage"].expected_rating == 1.0 and by_text["garbage"].confidence == 0.0


def _node_list(text: str) -> str:
    from engine.diagram.read import to_diagram
    from engine.diagram.text import to_text

    return to_text(to_diagram(text).diagram)


def _png(text: str) -> bytes:
    from engine.diagram.read import to_diagram
    from engine.diagram.render import render

    return render(to_diagram(text).diagram)


async def test_the_service_runs_the_pipeline_end_to_end(backend, tmp_path: Path) -> None:
    settings = Settings(secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0)
    app = create_app(settings, backend, PipelineTrainer(settings))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        body = {"user_id": "u", "description": "an MLP 3-5-2", "candidates": 3, "top": 2}
        r = await client.post("/v1/diagrams", json=body, headers=AUTH)
        assert r.status == 200
        answer = await r.json()
        assert answer["spec"]["layers"] == [3, 5, 2] and answer["model_version"] == "base"
        huge = body | {
            "description": "a network with 5000000 inputs, a hidden layer of 10 and 2 outputs"
        }
        r = await client.post("/v1/diagrams", json=huge, headers=AUTH)
        assert r.status == 400 and "over the limit" in (await r.json())["error"]
        st = await (await client.get("/v1/stats", headers=AUTH)).json()
        assert st["requests"] == {"total": 1, "done": 1} and st["diagrams"] == 3


async def test_stats_count_the_fast_decoders_fallbacks(backend, tmp_path: Path) -> None:
    """/v1/stats says how often the fast decoder handed a call to the plain path, and why: an
    architecture it declares unsupported (GPT-2) counts, the served llama model does not."""
    settings = Settings(secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0)
    app = create_app(settings, backend, PipelineTrainer(settings))
    fast.fallbacks.clear()
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        body = {"user_id": "u", "description": "an MLP 3-5-2", "candidates": 2, "top": 1}
        assert (await client.post("/v1/diagrams", json=body, headers=AUTH)).status == 200
        st = await (await client.get("/v1/stats", headers=AUTH)).json()
        assert st["decoder_fallbacks"] == {"count": 0, "reasons": {}}
        assert st["model_busy_s"] > 0  # the real model generated for the request
        tok = prepare_tokenizer(tiny.tokenizer())
        config = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=64)
        gpt2 = LoadedModel(GPT2LMHeadModel(config).eval(), tok, "gpt2")
        fast.generate(
            gpt2, [prompt.build(tok, "a", None)], 1, sampling=SamplingParams(max_new_tokens=3)
        )
        st = await (await client.get("/v1/stats", headers=AUTH)).json()
        assert st["decoder_fallbacks"] == {
            "count": 1,
            "reasons": {"gpt2: architecture 'gpt2'": 1},
        }
    fast.fallbacks.clear()


def test_a_user_who_likes_arrows_gets_arrows_first(backend) -> None:
    """Arrows and plain lines are nearly the same pixels; the node list's content blocks
    tell them apart, so a user who rated arrows high and plain lines low is served arrows."""
    arrows = sketch_to_text(Sketch(layers=(3, 5, 2), line_style="solid arrow"))
    plain = sketch_to_text(Sketch(layers=(3, 5, 2), line_style="solid line"))
    liked = backend.embed([_png(arrows)], [_node_list(arrows)])
    disliked = backend.embed([_png(plain)], [_node_list(plain)])
    assert liked.shape == (1, backend.dim) and backend.blocks[-1].stop == backend.dim
    names = content.block_names(backend.embedder.blocks)
    lines = backend.blocks[names.index("lines")]  # the content block of line styles
    assert np.linalg.norm(liked[0, lines] - disliked[0, lines]) > 0.1
    rated = np.concatenate([np.repeat(liked, 4, 0), np.repeat(disliked, 4, 0)])
    scores = np.array([5.0] * 4 + [1.0] * 4)
    ask = Ask("r", "u", "-", 2, 1, rated, scores, np.full(8, np.nan))
    description = "an MLP with 3 inputs, a hidden layer of 5 and 2 outputs"
    answer = _answer(backend, ask, [plain, arrows], description)
    assert [c.text for c in answer.candidates] == [arrows, plain]
    first, second = answer.candidates
    assert first.expected_rating > second.expected_rating + 1.0
    assert first.png is not None and second.png is None  # top 1 shown


def test_with_worker_processes_the_answer_is_the_same(backend, tmp_path: Path) -> None:
    """ENGINE_SCORE_WORKERS: the batch's candidates read, drawn and scored in a pool give the
    scoring thread's order, PNG bytes and scores; the pool is made again for new scorers."""
    pooled = PipelineBackend(
        backend.lm, backend.cnn, backend.embedder, None, SamplingParams(max_new_tokens=8), workers=2
    )
    texts = [
        sketch_to_text(Sketch(layers=(3, 5, 2), shape=shape, size=(48, 40)))
        for shape in ("circle", "round rectangle", "rectangle")
    ] + ["garbage", sketch_to_text(Sketch(layers=(3, 4, 2)))]
    liked = backend.embed([_png(texts[1])], [_node_list(texts[1])])
    ask = Ask("r", "u", "-", 5, 2, np.repeat(liked, 3, 0), np.full(3, 5.0), np.full(3, np.nan))
    description = "an MLP with 3 inputs, a hidden layer of 5 and 2 outputs"
    alone, got = _answer(backend, ask, texts, description), _answer(pooled, ask, texts, description)
    assert [c.text for c in got.candidates] == [c.text for c in alone.candidates]
    assert [c.png for c in got.candidates] == [c.png for c in alone.candidates]
    for a, b in zip(alone.candidates, got.candidates, strict=True):
        assert a.expected_rating == pytest.approx(b.expected_rating, abs=1e-5)
    first = pooled._pool
    cnn.save(backend.cnn, tmp_path / "cnn")
    pooled.use_scorer("cnn", tmp_path / "cnn")  # a fine-tuned CNN: the old pool can't score
    again = _answer(pooled, ask, texts, description)
    assert pooled._pool is not first and len(again.candidates) == len(texts)
    pooled._pool.close()


def test_the_model_thread_does_not_read_a_request_again(backend, monkeypatch) -> None:
    """refuse() reads a request on the event loop; generate() draws with that spec instead of
    reading the request again on the model thread (the same spec as reading it there)."""
    from engine import pipeline

    reads: list[str] = []
    extract = pipeline.extract_spec

    def counted(text: str):
        reads.append(text)
        return extract(text)

    monkeypatch.setattr(pipeline, "extract_spec", counted)  # the first step of every read
    fresh = PipelineBackend(
        backend.lm, backend.cnn, backend.embedder, None, SamplingParams(max_new_tokens=4)
    )
    description = "  a network with layers of 6, 8 and 3  "
    assert fresh.refuse(description) is None and len(reads) == 1
    empty = np.zeros((0, fresh.dim), np.float32)
    ask = Ask("r", "u", description, 2, 1, empty, np.zeros(0), np.zeros(0))
    ((group, sampled),) = fresh.generate([ask])
    assert group == [ask] and len(reads) == 1
    assert sampled.specs[0].layers == (6, 8, 3)
    assert fresh.refuse("") is not None and fresh.refuse("what is a GPU?") is not None
    fresh.refuse("pipeline: load, train")
    assert len(reads) == 3  # every new request is read once (an empty one never)
