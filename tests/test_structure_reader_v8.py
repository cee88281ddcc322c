"""Wordings the general structure reader (engine/diagram/spec_structure.py) reads since the
tune_v8 round: each test is a sentence of its own, not one of the tuning set's."""

from __future__ import annotations

from engine.diagram.spec import extract_spec
from engine.diagram.spec_structure import Graph, read_structure


def edges(g: Graph) -> set[tuple[str, str, str]]:
    return {
        (g.steps[a], g.steps[b], label) for (a, b), label in zip(g.edges, g.labels, strict=True)
    }


def read(text: str) -> Graph:
    g = read_structure(text)
    assert g is not None, text
    return g


def test_a_pair_marked_both_in_a_chain_is_a_fork_and_a_join() -> None:
    g = read("image -> color model and depth model (both) -> fuse maps -> decoder")
    assert {
        ("image", "color model", ""),
        ("image", "depth model", ""),
        ("color model", "fuse maps", ""),
        ("depth model", "fuse maps", ""),
    } <= edges(g)


def test_a_pair_with_a_both_note_in_a_chain_is_a_fork() -> None:
    g = read("upload -> virus scan and size check (both run on each file) -> store -> notify")
    assert {("upload", "virus scan", ""), ("upload", "size check", "")} <= edges(g)
    assert {("virus scan", "store", ""), ("size check", "store", "")} <= edges(g)


def test_loop_until_as_the_last_item_closes_the_loop() -> None:
    g = read("propose candidate -> score it -> keep the best -> loop until 20 rounds")
    assert "loop until 20 rounds" not in g.steps
    assert ("keep best", "propose candidate", "until 20 rounds") in edges(g)


def test_the_step_after_a_parallel_fork_joins_its_branches() -> None:
    g = read(
        "the question goes to 3 agents in parallel (agent a, agent b, agent c), then a judge"
        " picks the best reply"
    )
    for agent in ("agent a", "agent b", "agent c"):
        assert ("question", agent, "") in edges(g)
        assert any(a == agent and b.startswith("judge") for a, b, _ in edges(g))
    spec = extract_spec(
        "the question goes to 3 agents in parallel (agent a, agent b, agent c),"
        " then a judge picks the best reply"
    )
    assert spec is not None and spec.kind == "graph"


def test_an_inline_numbered_list_is_one_step_a_number_and_back_to_n_loops() -> None:
    g = read(
        "1. collect logs 2. parse lines 3. count errors 4. report; if errors > 10 stop, else"
        " back to 2"
    )
    assert g.steps[:4] == ("collect logs", "parse lines", "count errors", "report")
    assert ("collect logs", "parse lines", "") in edges(g)
    assert any(a == "errors > 10?" and b == "parse lines" for a, b, _ in edges(g))


def test_two_numbers_in_a_sentence_are_no_list() -> None:
    g = read_structure("load 2. items then train; if loss high retrain")
    assert g is None or not any(s.startswith("items") for s in g.steps)


def test_a_if_c_else_b_in_a_chain_meets_again_at_the_next_step() -> None:
    g = read("photo -> denoise if noisy else resize -> detect faces -> crop")
    assert {
        ("photo", "denoise", "noisy"),  # a one-word condition labels the edge
        ("photo", "resize", "else"),
        ("denoise", "detect faces", ""),
        ("resize", "detect faces", ""),
        ("detect faces", "crop", ""),
    } <= edges(g)


def test_a_if_c_b_otherwise_with_a_decimal_condition() -> None:
    g = read("embed -> match if similarity > 0.85, new cluster otherwise -> update index")
    assert {
        ("similarity > 0.85?", "match", "yes"),
        ("similarity > 0.85?", "new cluster", "otherwise"),
        ("match", "update index", ""),
        ("new cluster", "update index", ""),
    } <= edges(g)


def test_named_steps_merged_into_a_third() -> None:
    g = read(
        "the stem gives s1, s2, s3. s3 -> top. top and s2 are merged into mid, mid and s1 are"
        " merged into low"
    )
    assert {("stem", "s1", ""), ("stem", "s2", ""), ("stem", "s3", "")} <= edges(g)
    assert {("top", "mid", ""), ("s2", "mid", ""), ("mid", "low", ""), ("s1", "low", "")} <= edges(
        g
    )


def test_named_outputs_all_concatenated_and_fed_to_a_step() -> None:
    g = read(
        "input -> conv1, then conv2, then input, conv1's output and conv2's output are all"
        " concatenated together and fed to conv3"
    )
    assert g.steps == ("input", "conv1", "conv2", "concatenated", "conv3")
    assert {
        ("input", "concatenated", ""),
        ("conv1", "concatenated", ""),
        ("conv2", "concatenated", ""),
        ("concatenated", "conv3", ""),
    } <= edges(g)


def test_one_output_concatenated_with_another_before_a_step() -> None:
    g = read(
        "patchify -> block a -> block b -> block c -> classifier, and the block a output is"
        " also concatenated with the block c output before the classifier"
    )
    assert {
        ("block a", "concatenated", ""),
        ("block c", "concatenated", ""),
        ("concatenated", "classifier", ""),
    } <= edges(g)
    assert ("block c", "classifier", "") not in edges(g)  # the concat comes in between


def test_a_join_item_naming_two_drawn_steps() -> None:
    g = read(
        "- read images\n- read captions\n- clip embed the captions\n- merge images + clip"
        "\n- train head"
    )
    assert {
        ("read images", "merge images + clip", ""),
        ("clip embed captions", "merge images + clip", ""),
    } <= edges(g)


def test_concat_with_the_original_input_is_a_skip() -> None:
    g = read(
        "user prompt -> rewrite it -> fetch docs -> concat the docs with the original prompt -> llm"
    )
    concat = next(x for x in g.steps if x.startswith("concat"))
    assert {("fetch docs", concat, ""), ("user prompt", concat, "")} <= edges(g)


def test_stage_n_arrows_are_no_numbered_stages() -> None:
    g = read("stem -> stage1 -> stage2 -> head, with a skip from stage1 to head")
    assert g.steps[:4] == ("stem", "stage1", "stage2", "head")


def test_a_step_hanging_off_a_drawn_step_is_a_side_way() -> None:
    g = read(
        "img -> enc1 -> enc2 -> dec2 -> dec1 -> mask. skip from enc1 to dec1, and an aux"
        " head hanging off dec2"
    )
    assert {("dec2", "aux head", ""), ("enc1", "dec1", ""), ("dec2", "dec1", "")} <= edges(g)


def test_the_spec_keeps_a_skip_note_said_in_its_own_sentence() -> None:
    spec = extract_spec(
        "img -> enc1 -> enc2 -> dec2 -> dec1 -> mask. skip from enc1 to dec1,"
        " and an aux head hanging off dec2"
    )
    assert spec is not None and spec.kind == "graph"
    assert "aux head" in spec.steps and not any("hanging" in s for s in spec.steps)
    assert "2>5" in spec.structure  # enc1 -> dec1


def test_a_count_before_a_pair_says_the_fork_and_is_no_step() -> None:
    g = read("one clip -> two random crops -> patch a and patch b -> shared backbone -> loss")
    assert "two random crops" not in g.steps
    assert {
        ("one clip", "patch a", ""),
        ("one clip", "patch b", ""),
        ("patch a", "shared backbone", ""),
        ("patch b", "shared backbone", ""),
    } <= edges(g)


def test_a_step_said_of_the_two_joins_parallel_chains() -> None:
    g = read("query text -> query encoder, doc text -> doc encoder, cosine of the two -> score")
    assert {
        ("query encoder", "cosine", ""),
        ("doc encoder", "cosine", ""),
        ("cosine", "score", ""),
    } <= edges(g)


def test_a_step_that_averages_both_joins_parallel_paths() -> None:
    g = read(
        "the waveform goes to a 1d cnn, the spectrogram goes to a 2d cnn, an mlp combines"
        " both embeddings -> label"
    )
    assert {("1d cnn", "mlp", ""), ("2d cnn", "mlp", ""), ("mlp", "label", "")} <= edges(g)


def test_all_must_pass_after_a_parallel_fork_is_no_step() -> None:
    g = read(
        "commit pushed -> build, test and scan run in parallel, all three must pass, then deploy"
    )
    assert g.steps == ("commit pushed", "build", "test", "scan", "deploy")
    assert {("build", "deploy", ""), ("test", "deploy", ""), ("scan", "deploy", "")} <= edges(g)


def test_nested_code_loops_by_indentation() -> None:
    g = read(
        "for round in range(R):\n  for client in clients:\n    pull weights\n    local train\n"
        "    push update\n  aggregate\n  evaluate"
    )
    assert g.steps == ("pull weights", "local train", "push update", "aggregate", "evaluate")
    assert ("push update", "pull weights", "for each client") in edges(g)
    assert ("push update", "aggregate", "") in edges(g)
    assert ("evaluate", "pull weights", "for each round") in edges(g)


def test_one_code_loop_then_a_step_after_it() -> None:
    g = read("while not converged:\n    e step\n    m step\nreport params")
    assert ("m step", "e step", "not converged") in edges(g) or any(
        a == "m step" and b == "e step" for a, b, _ in edges(g)
    )
    assert ("m step", "report params", "") in edges(g)


def test_wait_and_retry_after_a_question_loops_to_the_step_asked_about() -> None:
    g = read("send the request. timeout? -> sleep and retry. otherwise store the reply")
    assert {
        ("send request", "timeout?", ""),
        ("timeout?", "sleep", "yes"),
        ("sleep", "send request", ""),
    } <= edges(g)
    assert "retry" not in g.steps


def test_an_inline_if_with_a_retry_goes_on_from_the_step_before() -> None:
    g = read(
        "download file -> if the checksum fails wait 10s and retry (up to 5 times) -> unzip"
        " -> index"
    )
    assert ("wait 10s", "download file", "") in edges(g)
    assert ("download file", "unzip", "") in edges(g)
    assert "retry" not in g.steps


def test_either_way_back_to_loops_every_branch() -> None:
    g = read(
        "propose edit -> run tests -> green? if all green merge, else revert; either way"
        " back to propose edit"
    )
    assert ("green?", "merge", "yes") in edges(g)
    assert {("merge", "propose edit", ""), ("revert", "propose edit", "")} <= edges(g)
    assert "either way" not in g.steps
