"""Batched sampling on tiny random Llama and Qwen2 models (the production code paths)."""

import pytest
import torch

from engine.diagram.model import Spec
from engine.llm import prompt, stopping, tiny
from engine.llm.generate import generate
from engine.llm.load import load
from engine.llm.sampling import SamplingParams


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm(request, tmp_path_factory):
    return load(str(tiny.save(tmp_path_factory.mktemp(request.param), request.param)))


def prompts(lm, texts):
    return [prompt.build(lm.tokenizer, t, None) for t in texts]


def force_next(lm, token_id: int, strength: float):
    """Make every step's logits favour one token (a real model, re-weighted)."""
    head = lm.model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.zero_()
        biased.bias.zero_()
        biased.bias[token_id] = strength
    lm.model.lm_head = biased
    return head


def test_pad_token_differs_from_end_token(lm):
    assert lm.tokenizer.pad_token_id != lm.tokenizer.eos_token_id
    assert lm.tokenizer.padding_side == "left"


def test_several_prompts_share_one_batch_with_n_candidates_each(lm):
    out = generate(
        lm,
        prompts(lm, ["an MLP 2 3", "a flow: a, b, c", "x"]),
        4,
        sampling=SamplingParams(max_new_tokens=8, temperature=1.0),
    )
    assert [len(row) for row in out] == [4, 4, 4]
    for row in out:
        assert len({g.text for g in row}) > 1  # sampled, not four copies
        assert all(1 <= g.tokens <= 8 for g in row)
        assert all(g.finished or g.tokens == 8 for g in row)
    seconds = {g.seconds for row in out for g in row}
    assert len(seconds) == 1 and seconds.pop() > 0  # one batch, one wall time


def test_every_call_differs_unless_seeded(lm):
    p = prompts(lm, ["an MLP 2 3"])
    a, b = (
        generate(lm, p, 3, sampling=SamplingParams(max_new_tokens=10, temperature=1.0))[0]
        for _ in range(2)
    )
    assert [g.text for g in a] != [g.text for g in b]
    c, d = (
        generate(lm, p, 3, sampling=SamplingParams(max_new_tokens=10, temperature=1.0, seed=7))[0]
        for _ in range(2)
    )
    assert [g.text for g in c] == [g.text for g in d]


def test_max_new_tokens_bounds_every_candidate(lm):
    out = generate(lm, prompts(lm, ["an MLP 2 3"]), 2, sampling=SamplingParams(max_new_tokens=3))
    assert all(g.tokens <= 3 for g in out[0])


def test_stops_at_the_end_token(lm):
    tok = lm.tokenizer
    head = force_next(lm, tok.eos_token_id, 6.0)  # about one step in two ends
    try:
        out = generate(
            lm,
            prompts(lm, ["a", "b"]),
            8,
            sampling=SamplingParams(max_new_tokens=40, temperature=1.0),
        )
    finally:
        lm.model.lm_head = head
    gens = [g for row in out for g in row]
    assert all(g.finished for g in gens)
    assert len({g.tokens for g in gens}) > 1  # each candidate stops on its own
    assert not any("<|im_end|>" in g.text or "<|endoftext|>" in g.text for g in gens)


def test_a_chat_turn_marker_also_ends_a_candidate(lm):
    start = lm.tokenizer.convert_tokens_to_ids("<|im_start|>")
    head = force_next(lm, start, 50.0)
    try:
        out = generate(lm, prompts(lm, ["a"]), 2, sampling=SamplingParams(max_new_tokens=20))
    finally:
        lm.model.lm_head = head
    assert all(g.finished and g.tokens == 1 and g.text == "" for g in out[0])


def test_a_blank_line_ends_a_sketch(lm):
    newline = lm.tokenizer("\n", add_special_tokens=False)["input_ids"][-1]
    head = force_next(lm, newline, 50.0)
    try:
        out = generate(lm, prompts(lm, ["a"]), 2, sampling=SamplingParams(max_new_tokens=20))
    finally:
        lm.model.lm_head = head
    assert all(g.finished and g.text == "" and g.tokens <= 3 for g in out[0])


def test_prompt_hint_states_what_the_extractor_found(lm):
    tok = lm.tokenizer
    net = prompt.build(tok, " an MLP 2-4-6-1 ", Spec("network", layers=(2, 4, 6, 1)))
    assert "an MLP 2-4-6-1\nhint: layers 2 4 6 1<|im_end|>" in net
    assert net.endswith("<|im_start|>assistant\n")
    flow = prompt.build(tok, "load, clean, train", Spec("flow", steps=("load", "clean", "train")))
    assert "hint: steps load | clean | train" in flow
    assert "hint" not in prompt.build(tok, "draw something", None)
    assert prompt.answer(tok, "layers: 2 1\n") == "layers: 2 1<|im_end|>"


def test_end_ids_are_the_end_token_and_the_turn_markers_the_vocabulary_has():
    tok = tiny.tokenizer()
    vocab = tok.get_vocab()
    expected = {tok.eos_token_id} | {vocab[t] for t in stopping.TURN_MARKERS if t in vocab}
    got = stopping.end_ids(tok)
    assert set(got) == expected - {tok.pad_token_id}
    assert len(got) == len(set(got))
    missing = [t for t in stopping.TURN_MARKERS if t not in vocab]
    assert missing  # the tiny vocabulary lacks some markers: none of them may come back as unk
    assert tok.unk_token_id not in got or tok.unk_token_id == tok.eos_token_id
