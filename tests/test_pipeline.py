"""The pipeline: reading candidates, ranking them, refusing bad input, one real batch."""

import pytest

from engine.diagram.model import Spec
from engine.llm import tiny
from engine.llm.generate import Generation
from engine.llm.load import load
from engine.llm.sampling import SamplingParams
from engine.pipeline import BadRequest, check, draw, model_reads, rank, read, spec_of

MLP = "layers: 2 4 6 1\ndirection: right\nshape: circle 40x40\nfill: 255 224 178"
SPEC = Spec("network", layers=(2, 4, 6, 1))


def gen(text: str) -> Generation:
    return Generation(text=text, tokens=10, finished=True, seconds=0.1)


def writing(text: str, asked: list[str]):
    """A generator that answers every prompt with `text`, recording the prompts in `asked`."""

    def generator(lm, prompts, n, sampling):
        asked.extend(prompts)
        return [[gen(text)] * n for _ in prompts]

    return generator


def test_a_sketch_becomes_a_valid_exact_candidate():
    c = read(gen(MLP), SPEC)
    assert c.parsed and c.valid and not c.contradicts
    assert c.fidelity.exact and c.readability > 0.5
    assert len(c.diagram.nodes) == 13 and c.node_text.count("\n") == 13


def test_wrong_structure_contradicts_and_garbage_is_unreadable():
    wrong = read(gen("layers: 2 5 1"), SPEC)
    assert wrong.parsed and wrong.contradicts and not wrong.fidelity.exact
    garbage = read(gen("sure! here is your diagram"), SPEC)
    assert not garbage.parsed and garbage.problems
    no_spec = read(gen("layers: 2 5 1"), None)
    assert no_spec.fidelity is None and not no_spec.contradicts


def test_rank_puts_matches_first_then_contradictions_then_unreadable_and_repeats():
    good = read(gen(MLP), SPEC)
    again = read(gen(MLP + "\n"), SPEC)
    wrong = read(gen("layers: 2 5 1"), SPEC)
    garbage = read(gen("no"), SPEC)
    assert rank([garbage, wrong, again, good])[:3] == [again, wrong, garbage]
    assert rank([garbage, wrong, again, good])[3] is good  # the repeat waits at the end


def test_bad_descriptions_are_refused_with_a_reason():
    for empty in ("", "   \n\t"):
        with pytest.raises(BadRequest, match="empty"):
            check(empty)
    with pytest.raises(BadRequest, match="1001 characters long; the limit is 1000"):
        check("x" * 1001)
    with pytest.raises(BadRequest, match="over the limit of 1,000,000"):
        spec_of("a network with 5000000 inputs, a hidden layer of 10 and 2 outputs")
    assert check("  an MLP 3-5-2 ") == "an MLP 3-5-2"


def test_draw_runs_every_stage_and_ranks_n_candidates(tmp_path):
    lm = load(str(tiny.save(tmp_path / "m", "llama")))
    result = draw(lm, "an MLP 3-5-2", 3, top=2, sampling=SamplingParams(max_new_tokens=6, seed=1))
    assert [c.rank for c in result.candidates] == [1, 2, 3]
    assert result.spec == Spec("network", layers=(3, 5, 2))
    assert "hint: layers 3 5 2" in result.prompt
    assert all(c.generation.tokens <= 6 for c in result.candidates)
    assert set(result.timings) == {"generate", "read", "rank", "total"}  # rank: with drawing
    assert result.candidates[2].png is None  # only the top K are rendered


def test_draw_takes_its_generator_and_both_paths_sample_alike_on_the_cpu(tmp_path):
    from engine.llm import fast
    from engine.llm import generate as plain

    lm = load(str(tiny.save(tmp_path / "m", "llama")))
    calls = []

    def counting(lm, prompts, n, sampling):
        calls.append(sampling.max_new_tokens)
        return plain.generate(lm, prompts, n, sampling)

    sampling = SamplingParams(max_new_tokens=8, seed=5)
    by_plain = draw(lm, "an MLP 3-5-2", 3, sampling=sampling, generator=counting)
    by_fast = draw(lm, "an MLP 3-5-2", 3, sampling=sampling, generator=fast.generate)
    assert calls == [8]
    # Same seed, same sampler (engine/llm/fast.py `choose`): the very same candidates.
    assert sorted(c.text for c in by_plain.candidates) == sorted(c.text for c in by_fast.candidates)


def test_a_grafted_answer_starts_with_its_steps_and_a_network_answer_does_not(tmp_path):
    """The model goes on from the stack's steps line (it writes the style only), and each
    candidate's text is the whole answer: the line given, then what the model wrote."""
    lm = load(str(tiny.save(tmp_path / "m", "llama")))
    asked: list[str] = []
    recording = writing("direction: down", asked)
    stack = "a CNN: 32x32 input, conv 3x3 16, max pool, dense 64, 10 outputs"
    got = draw(lm, stack, 2, generator=recording)
    line = "steps: input 32x32 | conv 3x3 16 | max pool | dense 64 | output 10\n"
    assert asked[0] == got.prompt + line  # the stored prompt stops where the answer starts
    assert all(c.text == line + "direction: down" for c in got.candidates)
    assert got.candidates[0].fidelity.exact and got.candidates[0].diagram.nodes
    net = draw(lm, "an MLP 3-5-2", 2, generator=recording)
    assert asked[1] == net.prompt and all(c.text == "direction: down" for c in net.candidates)


def test_a_chain_of_arrows_is_drawn_as_said_not_as_the_entry_it_mentions():
    named = spec_of("a U-Net with 4 levels")
    assert named is not None and named.kind == "named"
    own = spec_of("speech model: raw audio -> mfcc -> gru -> emotion label")
    assert own is None or own.kind != "named"  # the GRU entry is not what was asked


def test_model_reads_leaves_flows_to_the_model_and_keeps_refusals_and_network_hints(tmp_path):
    """With model_reads the prompt carries no steps hint and the answer no given start, and
    the model's own steps are drawn (not the reader's); a network keeps its layers hint."""
    lm = load(str(tiny.save(tmp_path / "m", "llama")))
    asked: list[str] = []
    writes = writing("steps: a | b\ndirection: down", asked)
    stack = "a CNN: 32x32 input, conv 3x3 16, max pool, dense 64, 10 outputs"
    got = draw(lm, stack, 2, generator=writes, reader=model_reads)
    assert got.spec is None and "hint:" not in asked[0] and asked[0] == got.prompt
    assert [n.label for n in got.candidates[0].diagram.nodes] == ["a", "b"]
    assert model_reads("an MLP 3-5-2").layers == (3, 5, 2)
    with pytest.raises(BadRequest):
        model_reads("a network with 3 inputs, 5000000 hidden units and 2 outputs")
