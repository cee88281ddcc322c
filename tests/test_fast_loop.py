"""The fused decode loop (sampling and stop bookkeeping in the step, captured as one CUDA graph
on the GPU) against the eager loop, run eagerly on the CPU with tiny random models: the same
tokens for the same seed, through filler rows, stops and shrinking batches."""

import pytest
import torch
from torch import nn

from engine.llm import fast, prompt, tiny
from engine.llm.load import load

TEXTS = ["an MLP 2 3", "a flow: load data, clean it, train a model, evaluate it", "x"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm(request, tmp_path_factory):
    return load(str(tiny.save(tmp_path_factory.mktemp(request.param), request.param)))


def prompts(lm) -> list[str]:
    return [prompt.build(lm.tokenizer, t, None) for t in TEXTS]


@pytest.fixture
def ending(lm):
    """The model's own head plus a bias to the end token and the newline, so rows end (end
    token or blank line) at different steps and the batch shrinks; the old head afterwards."""
    tok, head = lm.tokenizer, lm.model.lm_head
    newline = tok("\n", add_special_tokens=False)["input_ids"][-1]
    new = nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        new.weight.copy_(head.weight)
        new.bias.zero_()
        new.bias[tok.eos_token_id], new.bias[newline] = 3.0, 3.0
    fast.forget(lm)
    lm.model.lm_head = new
    yield lm
    lm.model.lm_head = head
    fast.forget(lm)


def both_loops(lm, buckets: bool, **kwargs) -> tuple[fast.Decoded, fast.Decoded]:
    """The eager and the fused loop on the same call and seed; buckets: CUDA's batch buckets
    of 1, 2, 4, ... rows (so filler rows) on the CPU."""
    dec = fast.decoder(lm)
    dec.round_rows = buckets
    try:
        runs = [
            fast.decode(lm, prompts(lm), 4, max_new_tokens=40, seed=5, fused=fused, **kwargs)
            for fused in (False, True)
        ]
    finally:
        dec.round_rows = False
    return runs[0], runs[1]


def end_steps(lm, ids: torch.Tensor) -> list[int]:
    """Tokens each row holds before its padding."""
    pad = lm.tokenizer.pad_token_id
    return [row.index(pad) if pad in row else len(row) for row in ids.tolist()]


@pytest.mark.parametrize("buckets", [False, True])
@pytest.mark.parametrize("temperature, top_p", [(0.7, 0.95), (1.0, 1.0), (1.3, 0.5)])
def test_sampled_rows_equal_the_eager_loops_and_the_batch_shrinks(
    ending, buckets, temperature, top_p
):
    eager, fused = both_loops(ending, buckets, temperature=temperature, top_p=top_p)
    assert torch.equal(fused.ids, eager.ids) and fused.steps == eager.steps
    ends = sorted(end_steps(ending, fused.ids))
    # Most rows end well before the last: the loop moved the live rows to a smaller batch.
    assert ends[len(ends) // 2] < ends[-1] and ends[0] < 40


@pytest.mark.parametrize("buckets", [False, True])
@pytest.mark.parametrize("stop", [False, True])
def test_greedy_rows_equal_the_eager_loops(lm, buckets, stop):
    eager, fused = both_loops(lm, buckets, temperature=0, stop=stop)
    assert torch.equal(fused.ids, eager.ids) and fused.steps == eager.steps
    assert len({tuple(row) for row in fused.ids.tolist()}) == len(TEXTS)  # one per prompt
    if not stop:
        assert fused.steps == 40 and not fused.ids.eq(lm.tokenizer.pad_token_id).any()


def test_seeded_fused_calls_repeat_and_unseeded_ones_differ(ending):
    ps = prompts(ending)

    def run(seed: int | None) -> torch.Tensor:
        return fast.decode(ending, ps, 4, max_new_tokens=30, seed=seed, fused=True).ids

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(None), run(None))


def test_the_cpu_default_is_the_eager_loop(lm):
    """The fused loop's output buffer stays unwritten unless it is asked for."""
    ps = prompts(lm)
    fast.decode(lm, ps, 2, max_new_tokens=8, temperature=0)  # the cache and buffers exist
    dec = fast.decoder(lm)
    with torch.inference_mode():  # the buffers are inference tensors
        dec.out.zero_()
    fast.decode(lm, ps, 2, max_new_tokens=8, temperature=0)
    assert not dec.out.any()
    fused = fast.decode(lm, ps, 2, max_new_tokens=8, temperature=0, fused=True)
    assert torch.equal(dec.out[: len(ps) * 2, :8], fused.ids)
    assert fused.ids.data_ptr() != dec.out.data_ptr()  # a copy: the next call overwrites out
