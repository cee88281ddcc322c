"""The general structure reader (engine/diagram/spec_structure.py): branches, loops, skips,
forks and joins read from the request's own words, and None where only a chain is said."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_if_else_is_a_decision_step_with_labelled_edges() -> None:
    g = read("train -> eval -> if f1 > 0.8 push to hub else tweak lr and retrain")
    assert g.steps == ("train", "eval", "f1 > 0.8?", "push to hub", "tweak lr")
    assert edges(g) >= {
        ("eval", "f1 > 0.8?", ""),
        ("f1 > 0.8?", "push to hub", "yes"),
        ("f1 > 0.8?", "tweak lr", "else"),
        ("tweak lr", "train", ""),  # "retrain": back to train
    }


def test_a_question_then_yes_and_no() -> None:
    g = read("request comes in → cache hit? → yes: return cached answer / no: call the llm")
    assert ("cache hit?", "return cached answer", "yes") in edges(g)
    assert ("cache hit?", "call llm", "no") in edges(g)


def test_pipes_part_clauses_and_no_step_holds_one() -> None:
    """'a -> b? -> yes: c | no: d': a pipe parts clauses as a semicolon does; in a sketch it
    parts steps, so a step that kept one would split into an empty step."""
    g = read("pr opened -> schema diff -> breaking change? -> yes: block pr | no: auto-approve")
    assert g.steps == ("pr opened", "schema diff", "breaking change?", "block pr", "auto-approve")
    assert ("breaking change?", "auto-approve", "no") in edges(g)


def test_several_ifs_without_else_label_the_step_before() -> None:
    g = read(
        "run the tests; if they pass, merge; if they fail, fix the code and run the tests again"
    )
    assert edges(g) == {
        ("run tests", "merge", "pass"),
        ("run tests", "fix code", "fail"),
        ("fix code", "run tests", ""),
    }


@pytest.mark.parametrize(
    ("text", "back"),
    [
        (
            "sample noise, predict the noise, subtract it, go back to predict the noise "
            "until t = 0",
            ("subtract", "predict noise"),
        ),
        (
            "fetch batch, fwd pass, compute loss, backprop, optimizer step, "
            "repeat till the epoch is over",
            ("optimizer step", "fetch batch"),
        ),
        (
            "initialize weights, compute gradients, update weights, repeat until convergence",
            ("update weights", "compute gradients"),
        ),  # the set-up step stays outside the loop
        (
            "Step 1 - train teacher\nStep 2 - teacher labels data\nStep 3 - train student\n"
            "Step 4 - student becomes the teacher, go back to step 2",
            ("student becomes teacher", "teacher labels data"),
        ),
        ("while not converged: e-step, m-step", ("m-step", "e-step")),
        (  # the loop word before "back to" is no step of its own
            "encode, quantize, decode, repeat the whole thing back to encode",
            ("decode", "encode"),
        ),
    ],
)
def test_loops_close_an_edge_back(text: str, back: tuple[str, str]) -> None:
    g = read(text)
    assert (g.steps.index(back[0]), g.steps.index(back[1])) in g.edges


def test_a_loop_said_first_wraps_its_sentence_and_what_follows_comes_after() -> None:
    g = read(
        "for every image in the folder: load it, run the detector, save the boxes. "
        "after all images, zip the results"
    )
    assert g.steps == ("load", "run detector", "save boxes", "zip results")
    assert {(2, 0), (2, 3)} <= set(g.edges)


@pytest.mark.parametrize(
    ("text", "skip"),
    [
        (
            "residual block: input → conv1 → bn1 → relu → conv2 → add (shortcut from the input to "
            "the add) → final relu",
            ("input", "add"),
        ),
        (
            "squeeze excitation: features → global pool → fc1 → sigmoid → scale (multiply with the "
            "features)",
            ("features", "scale"),
        ),
        ("x → linear → gelu → linear2 → add ; shortcut x → add", ("x", "add")),
        (
            "unet-ish: enc1 → enc2 → bottleneck → dec2 → dec1 → mask. "
            "skips enc1→dec1 and enc2→dec2",
            ("enc1", "dec1"),
        ),
        (  # "y also takes x": x -> y, whichever is said first
            "patch embed -> attention -> mlp -> norm, and the norm block also takes the patch "
            "embed directly",
            ("patch embed", "norm"),
        ),
        ("stem -> block a -> block b, block b also receives the stem", ("stem", "block b")),
    ],
)
def test_skips_join_two_drawn_steps(text: str, skip: tuple[str, str]) -> None:
    g = read(text)
    assert (g.steps.index(skip[0]), g.steps.index(skip[1])) in g.edges


def test_forks_and_joins() -> None:
    g = read(
        "multimodal: audio → wav2vec, video → resnet, text → bert. all three concatenated "
        "→ classifier"
    )
    assert edges(g) >= {
        ("audio", "wav2vec", ""),
        ("wav2vec", "concatenated", ""),
        ("resnet", "concatenated", ""),
        ("bert", "concatenated", ""),
        ("concatenated", "classifier", ""),
    }
    g = read("load data, then in parallel train a tree & train a forest; both feed into compare")
    assert edges(g) == {
        ("load data", "train tree", ""),
        ("load data", "train forest", ""),
        ("train tree", "compare", ""),
        ("train forest", "compare", ""),
    }


def test_a_fork_said_in_parallel_stays_a_fork_where_a_data_flow_is_read_too() -> None:
    spec = extract_spec(
        "the features are sent to four classifiers (knn, tree, mlp, svm) in parallel, "
        "their votes are averaged by a meta learner"
    )
    assert spec is not None and spec.kind == "graph"  # not a data flow with knn as a datum
    assert spec.steps == ("features", "knn", "tree", "mlp", "svm", "meta learner")
    assert "edges: 1>2 1>3 1>4 1>5 2>6 3>6 4>6 5>6" in spec.structure


@pytest.mark.parametrize(
    "text",
    [
        "tokens -> model a, model b, model c -> vote",
        "tokens -> model a and model b and model c -> vote",
    ],
)
def test_a_list_between_arrows_forks_and_joins(text: str) -> None:
    g = read(text)
    assert g.steps == ("tokens", "model a", "model b", "model c", "vote")  # "a" is a name here
    assert set(g.edges) == {(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)}


def test_outcomes_after_depending_on_branch_from_the_step_before() -> None:
    g = read(
        "fit, score on holdout. depending on the score: better than 0.9 -> ship; worse -> drop"
    )
    assert {
        ("score on holdout", "ship", "better than 0.9"),
        ("score on holdout", "drop", "worse"),
    } <= (edges(g))


def test_a_counted_list_in_parentheses_after_in_parallel_is_the_fork() -> None:
    spec = extract_spec(
        "the frame is sent to two detectors in parallel (yolo, detr), their boxes are merged by nms"
    )
    assert spec is not None and spec.steps == ("frame", "yolo", "detr", "nms")
    assert "edges: 1>2 1>3 2>4 3>4" in spec.structure


def test_a_range_is_an_outcome_not_a_step() -> None:
    g = read("reward model: rm score; above 0.8 -> keep, 0.3 to 0.8 -> relabel, below 0.3 -> drop")
    assert g.steps == ("rm score", "keep", "relabel", "drop")
    assert ("rm score", "relabel", "0.3 to 0.8") in edges(g)


def test_what_a_step_gives_comes_after_it() -> None:
    g = read(
        "sample a batch, score it, keep the best, repeat until done. "
        "the best sample gives the answer"
    )
    assert g.steps[-1] == "answer" and ("best sample", "answer", "") in edges(g)


def test_a_branch_may_go_to_a_step_further_down_a_numbered_list() -> None:
    g = read(
        "1. pull logs\n2. errors found? yes: go to 3, no: go to 4\n3. page oncall\n4. archive logs"
    )
    assert {("errors found?", "page oncall", "yes"), ("errors found?", "archive logs", "no")} <= (
        edges(g)
    )


def test_a_sentence_of_third_person_verbs_and_doing_it_all_again() -> None:
    g = read(
        "the crawler fetches the pages, filters them against the blocklist, stores the rest "
        "and pings the admin, then it sleeps a day and does it all again"
    )
    assert g.steps == (
        "crawler fetches pages",
        "filters against blocklist",  # "against" is no "again"
        "stores rest",
        "pings admin",
        "sleeps day",
    )
    assert (4, 0) in g.edges


def test_both_feed_joins_and_also_verbs_is_a_side_path() -> None:
    g = read("noise -> generator -> fakes. the fakes and the real images both feed the critic")
    assert {("fakes", "critic", ""), ("real images", "critic", "")} <= edges(g)
    g = read("obs -> policy -> action -> obs (loop) ; policy also writes traces to disk")
    assert ("policy", "writes traces to disk", "") in edges(g)


def test_a_one_word_step_said_again_in_another_form_is_the_same_step() -> None:
    g = read("tokenize -> embed -> pool -> head, and the embedding also goes straight to the head")
    assert g.steps == ("tokenize", "embed", "pool", "head")
    assert (1, 3) in g.edges


def test_repeated_layers_are_two_steps_not_a_loop() -> None:
    g = read("basic block: input -> conv -> relu -> conv -> add (identity skip) -> out")
    assert g.steps.count("conv") == 2
    assert all(b > a for a, b in g.edges)  # no cycle
    assert (0, g.steps.index("add")) in g.edges


@pytest.mark.parametrize(
    "text",
    [
        "load data, clean it, train a model, evaluate",  # a chain: the flow reader's
        "a cnn, an rnn and a transformer side by side",
        "an MLP with 3 inputs, two hidden layers of 5 and 1 output",
        "ok so " + "this is a long chat about my slides, " * 30 + "if you can, thanks",
    ],
)
def test_no_structure_gives_none(text: str) -> None:
    assert read_structure(text) is None


def test_extract_spec_draws_the_graph() -> None:
    spec = extract_spec(
        "train → eval → good enough? no → collect more data → train again. yes → ship"
    )
    assert spec is not None and spec.kind == "graph"
    assert "good enough?" in spec.steps and "ship" in spec.steps


@pytest.mark.parametrize(
    ("text", "edge"),
    [
        # a question's next piece is its yes branch; "not cached?" is its no branch
        (
            "pipeline: get request; cached? return it. not cached? compute embedding, store it",
            ("cached?", "compute embedding", "not"),
        ),
        (
            "preprocess → model → confidence < 0.5 ? send to human : auto label",
            ("confidence < 0.5?", "auto label", "no"),
        ),
        (
            "beam search: expand beams → score → stop if all beams hit eos else expand again",
            ("all beams hit eos?", "stop", "yes"),
        ),
        (
            "fraud gating:\n- score txn\n- score > 0.9 → block\n- below 0.5 → allow",
            ("score txn", "allow", "below 0.5"),
        ),
        (
            "retry: send request, if 429 wait and resend, if 200 parse body",
            ("send request", "parse body", "200"),
        ),
    ],
)
def test_branches_said_in_other_ways(text: str, edge: tuple[str, str, str]) -> None:
    assert edge in edges(read(text))


def test_an_empty_branch_passes_its_label_and_the_branches_meet() -> None:
    g = read("if the img is grayscale convert to rgb, otherwise leave it. then resize → model")
    assert edges(g) >= {
        ("img is grayscale?", "convert to rgb", "yes"),
        ("img is grayscale?", "resize", "otherwise"),
        ("convert to rgb", "resize", ""),
    }


def test_titles_chat_and_requests_are_no_steps() -> None:
    g = read("SE block?? x -> pool -> fc -> sigmoid, then multiply x by that")
    assert "se block?" not in g.steps and (0, g.steps.index("multiply")) in g.edges
    g = read("hparam sweep\n* pick lr\n* train 3 epochs\n* log val acc\n* repeat for all lrs")
    assert g.steps[0] == "pick lr"
    g = read("wait how do i show this... prompt → llm → valid json? if not, call the llm again")
    assert g.steps[0] == "prompt"


def test_pairs_and_lists_fork() -> None:
    g = read("vae: x -> encoder -> mu and logvar -> reparam -> decoder")
    assert {("encoder", "mu", ""), ("encoder", "logvar", ""), ("logvar", "reparam", "")} <= edges(g)
    g = read("image → backbone, backbone feeds 3 heads: cls head, box head, mask head")
    assert {("backbone", h, "") for h in ("cls head", "box head", "mask head")} <= edges(g)
    g = read(
        "server sends global model to clients A, B and C, each trains locally, server "
        "aggregates the updates, next round"
    )
    assert {"clients a", "clients b", "clients c"} <= set(g.steps)


def test_labels_never_name_a_step() -> None:
    g = read(
        "the classic: init params, then loop { forward, loss, backward, step } until val "
        "loss stops improving, then test"
    )
    assert all("loss" not in label for label in g.labels)


PARTS = [
    *"abcxy ,;.:?()-§\n*1",
    "->",
    "if ",
    "else ",
    "then ",
    "yes ",
    "both ",
    "repeat ",
    "go back to ",
]


@settings(max_examples=300, deadline=1000)
@given(st.lists(st.sampled_from(PARTS), max_size=120).map("".join))
def test_any_text_reads_without_error(text: str) -> None:
    g = read_structure(text)
    assert g is None or all(0 <= a < len(g.steps) and 0 <= b < len(g.steps) for a, b in g.edges)


def test_a_protected_list_with_no_space_is_read_once() -> None:
    read_structure("a§b§c and d, x -> y")  # used to recurse forever


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        (
            "densenet block: each layer gets the concatenation of all previous layers: "
            "conv1, conv2, conv3, conv4",
            {("conv1", "conv3"), ("conv1", "conv4"), ("conv2", "conv4")},
        ),
        (
            "u-net with 3 levels: enc1, enc2, enc3, bottleneck, dec3, dec2, dec1, "
            "each decoder gets a skip from the encoder at its level",
            {("enc1", "dec1"), ("enc2", "dec2"), ("enc3", "dec3")},
        ),
        (
            "two inputs: image -> cnn, text -> lstm; concatenate both and feed a dense layer",
            {("cnn", "concatenate"), ("lstm", "concatenate"), ("concatenate", "dense layer")},
        ),
        ("x -> layer norm -> attention -> add x -> mlp", {("x", "add"), ("add", "mlp")}),
    ],
)
def test_dense_level_and_op_skips(text: str, wanted: set[tuple[str, str]]) -> None:
    g = read(text)
    assert wanted <= {(g.steps[a], g.steps[b]) for a, b in g.edges}


def test_a_loop_to_a_step_not_there_reads_nothing() -> None:
    assert (
        read_structure("load data, clean it, train, evaluate, then go back to the banana stand")
        is None
    )


def test_a_fork_said_with_goes_to_a_list_in_parallel() -> None:
    g = read("the stem goes to a 1x1 conv, a 3x3 conv and a 5x5 conv in parallel, then concat")
    assert {(a, b) for a, b, _ in edges(g)} == {
        ("stem", "1x1 conv"), ("stem", "3x3 conv"), ("stem", "5x5 conv"),
        ("1x1 conv", "concat"), ("3x3 conv", "concat"), ("5x5 conv", "concat"),
    }  # fmt: skip


def test_a_chain_forks_at_a_pair_in_parallel_and_a_verb_is_shared() -> None:
    g = read("events -> compute user stats and item stats in parallel -> join -> store")
    assert g.steps == ("events", "compute user stats", "compute item stats", "join", "store")
    assert {("events", "compute item stats", ""), ("compute item stats", "join", "")} <= edges(g)
    h = read("q -> dense search and sparse search in parallel -> fuse -> llm")
    assert ("q", "sparse search", "") in edges(h) and ("dense search", "fuse", "") in edges(h)


def test_merged_by_names_the_join_and_skip_is_a_step_where_it_is_one() -> None:
    g = read("each doc goes to reader a, reader b and reader c in parallel, their notes are "
             "merged by majority vote, then the vote goes to an editor")  # fmt: skip
    assert "merged" not in g.steps and ("reader b", "majority vote", "") in edges(g)
    h = read("fwd -> loss -> loss nan? yes -> skip batch, no -> backward")
    assert ("loss nan?", "skip batch", "yes") in edges(h)


def test_extra_arrows_are_edges_not_a_step() -> None:
    g = read("x0 -> l1 -> l2 -> l3, plus extra arrows x0→l2, l1→l3")
    assert g.steps == ("x0", "l1", "l2", "l3") and ("x0", "l2", "") in edges(g)


def test_asked_questions_and_answers_said_as_it_does() -> None:
    g = read("run the evals, then ask: score beats best? when it does, save it as best; "
             "if not, drop the checkpoint")  # fmt: skip
    assert "score beats best?" in g.steps
    assert ("score beats best?", "save as best", "yes") in edges(g)
    assert ("score beats best?", "drop checkpoint", "not") in edges(g)
    assert ("save as best", "drop checkpoint", "") not in edges(g)  # no empty branch met


def test_a_no_branch_said_after_the_yes_branch_went_on_starts_at_the_decision() -> None:
    g = read("backward -> grad norm > 1? if yes clip grads then step, if no go straight to step")
    assert ("grad norm > 1?", "step", "no") in edges(g) and ("clip grads", "step", "") in edges(g)


def test_loops_said_in_parentheses() -> None:
    g = read("msg -> llm -> tool needed? yes -> run tool -> add result -> llm (loop back). "
             "no -> answer")  # fmt: skip
    assert g.steps.count("llm") == 1 and ("add result", "llm", "") in edges(g)
    h = read("1. write drafts\n2. judge them\n3. good enough? if not, redraft (go back to 1)\n"
             "4. publish")  # fmt: skip
    assert ("redraft", "write drafts") in {(a, b) for a, b, _ in edges(h)}


def test_a_title_sentence_is_no_step_and_same_input_forks() -> None:
    g = read("early stopping diagram pls. train, evaluate, then check: did it improve? "
             "if it did save, otherwise stop")  # fmt: skip
    assert "early stopping diagram" not in g.steps and g.steps[0] == "train"
    h = read("ensemble: same input to xgboost, a forest and an mlp, then merge their "
             "predictions by averaging -> final prediction")  # fmt: skip
    assert ("input", "forest", "") in edges(h) and ("averaging", "final prediction", "") in edges(h)
    k = read("image -> cnn and text -> rnn, combine both with a concat layer, then a head")
    assert ("rnn", "concat layer", "") in edges(k) and "combine" not in k.steps
    w = read("split the data into 3 shards, fan out to workers a, b and c, then aggregate")
    assert {("workers b", "aggregate", "")} <= edges(w)


def test_two_skips_in_one_note_and_every_epoch_loops() -> None:
    g = extract_spec("enc 1 -> enc 2 -> mid -> dec 2 -> dec 1 -> out; skip connection from "
                     "enc 1 to dec 1 and from enc 2 to dec 2")  # fmt: skip
    assert g is not None and "1>5[skip]" in g.structure and "2>4[skip]" in g.structure
    h = read("every epoch we shuffle the data, train, and run validation")
    assert h.steps == ("shuffle data", "train", "run validation")
    assert ("run validation", "shuffle data") in {(a, b) for a, b, _ in edges(h)}
    k = read("sample a config, train for 3 epochs, record the score. repeat this 50 times")
    assert "train for 3 epochs" in k.steps  # a duration, not a loop


def test_true_and_false_are_the_requests_own_labels() -> None:
    g = read("llm -> tool call? true -> run tool -> llm (loop back). false -> answer")
    assert ("tool call?", "run tool", "true") in edges(g)
    assert ("tool call?", "answer", "false") in edges(g)


def test_concat_that_with_an_earlier_output_goes_on_and_a_heading_is_no_step() -> None:
    g = read("clf: embed -> bilstm -> attention, then concat that with the bilstm output -> "
             "dense -> softmax")  # fmt: skip
    assert g.steps == ("embed", "bilstm", "attention", "concat", "dense", "softmax")
    assert {("attention", "concat", ""), ("bilstm", "concat", "")} <= edges(g)
    assert ("concat", "dense", "") in edges(g)


def test_a_dashed_one_line_list_is_a_flow_not_the_entry_it_names() -> None:
    spec = extract_spec("fine tuning recipe - pick base model - lora finetune - merge - eval")
    assert spec is not None and spec.steps == ("pick base model", "lora finetune", "merge", "eval")


def test_what_a_drawn_step_gives_also_going_directly_is_a_skip_from_it() -> None:
    g = read("image -> backbone -> rpn -> roi pooling -> head. the backbone features also go "
             "directly to roi pooling")  # fmt: skip
    assert "backbone features" not in g.steps and ("backbone", "roi pooling", "") in edges(g)


def test_send_back_to_a_drawn_step_is_the_branch_back_not_a_step() -> None:
    g = read("label item, review it, label ok? pass -> add to dataset, fail -> send back to "
             "label item")  # fmt: skip
    assert "send" not in g.steps and ("label ok?", "label item", "fail") in edges(g)


def test_outcomes_said_one_a_sentence_and_repeat_from_a_step() -> None:
    g = read("score the sample; confidence high -> accept; medium -> review; low -> reject")
    assert g.steps == ("score sample", "accept", "review", "reject")
    assert ("score sample", "review", "medium") in edges(g)
    h = read("fit base; compute residuals; fit a tree; add the tree; repeat 100 times from "
             "compute residuals")  # fmt: skip
    assert ("add tree", "compute residuals") in {(a, b) for a, b, _ in edges(h)}
    k = read("data gets split 3 ways: train / val / test. train -> trainer; val -> early "
             "stopping; test -> report")  # fmt: skip
    assert "trainer" in k.steps and ("train", "trainer", "") in edges(k)


def test_is_it_questions_are_decisions_of_their_own() -> None:
    g = read("start -> decode step -> pick token -> is it eos? no -> back to decode step, "
             "yes -> output")  # fmt: skip
    assert "eos?" in g.steps and ("eos?", "decode step", "no") in edges(g)
    h = read("train -> evaluate -> did it improve? yes -> save, no -> stop")
    assert not any(x.startswith("it ") for x in h.steps)  # decided by the step before


def test_sends_to_a_list_forks() -> None:
    g = read("tokens -> router, router sends to expert 1, expert 2 and expert 3, their outputs "
             "go into a weighted combine")  # fmt: skip
    assert {("router", "expert 2", ""), ("expert 3", "weighted combine", "")} <= edges(g)


def test_a_negated_condition_asks_the_positive_question_and_says_no_first() -> None:
    g = read(
        "reset env, take action, get reward. "
        "if the episode is not done, take action again, else update policy"
    )
    assert "episode is done?" in g.steps
    assert edges(g) >= {
        ("episode is done?", "take action", "no"),
        ("episode is done?", "update policy", "yes"),  # its else is the yes
    }
    g = read(
        "tokenize, embed, after it encode. if the loss did not improve stop, else go back to embed"
    )
    assert g.steps == ("tokenize", "embed", "encode", "loss improve?", "stop")  # "after it" joins
    assert edges(g) >= {("loss improve?", "stop", "no"), ("loss improve?", "embed", "yes")}


def test_if_not_with_no_question_open_asks_one_and_a_later_if_answers_it() -> None:
    g = read(
        "pick next combo, train, evaluate. if not all combos done go back to pick next combo. "
        "if all done test best model"
    )
    assert g.steps == (
        "pick next combo",
        "train",
        "evaluate",
        "all combos done?",
        "test best model",
    )
    assert edges(g) >= {
        ("all combos done?", "pick next combo", "no"),
        ("all combos done?", "test best model", "yes"),
    }


def test_a_no_branch_drops_the_question_said_again() -> None:
    g = read(
        "start with centroids, assign points, move centroids, did centroids change? "
        "if yes go back to assign points, if not change stop"
    )
    assert g.steps[-1] == "stop"  # not "change stop"
    assert ("centroids change?", "stop", "not") in edges(g)


def test_x_added_to_the_output_of_y_is_an_add_after_y() -> None:
    g = read(
        "the cnn takes the image, conv1, conv2, then the image is also added to the output of "
        "conv2, then relu and fc"
    )
    assert g.steps == ("image", "conv1", "conv2", "add", "relu", "fc")  # "relu and fc": two
    assert edges(g) >= {("image", "add", ""), ("conv2", "add", ""), ("add", "relu", "")}


def test_what_also_goes_directly_to_a_step_skips_to_it() -> None:
    g = read(
        "question -> retriever -> reranker -> llm -> answer. the question also goes directly to llm"
    )
    assert ("question", "llm", "") in edges(g)
    assert g.steps == ("question", "retriever", "reranker", "llm", "answer")


def test_a_how_to_draw_intro_with_a_number_is_no_step() -> None:
    g = read(
        "5 fold cross validation how to draw: split data into 5 folds, train on 4, test on 1, "
        "repeat for each fold, average scores"
    )
    assert g.steps[0] == "split data into 5 folds"
    assert ("test on 1", "train on 4", "for each fold") in edges(g)


def test_a_process_step_said_again_by_name_closes_a_loop_a_layer_does_not() -> None:
    g = read("agent: plan -> act -> observe -> plan")
    assert g.steps == ("plan", "act", "observe")
    assert ("observe", "plan", "") in edges(g)
    assert read_structure("conv -> relu -> conv -> relu") is None  # four layers, a chain


def test_braces_after_an_arrow_are_side_by_side() -> None:
    g = read("x -> {conv 1x1, conv 3x3, maxpool} -> concat")
    assert g.steps == ("x", "conv 1x1", "conv 3x3", "maxpool", "concat")
    assert edges(g) >= {(a, b, "") for a in ("x",) for b in ("conv 1x1", "conv 3x3", "maxpool")}
    assert ("maxpool", "concat", "") in edges(g)
    g = read("x -> backbone -> {cls_head, box_head}")
    assert edges(g) == {
        ("x", "backbone", ""),
        ("backbone", "cls_head", ""),
        ("backbone", "box_head", ""),
    }


def test_two_names_between_arrows_before_a_merge_fork_and_join() -> None:
    g = read("raw -> dedup -> lang filter and toxic filter -> merge -> shard")
    assert ("dedup", "toxic filter", "") in edges(g)
    assert ("lang filter", "merge", "") in edges(g) and ("toxic filter", "merge", "") in edges(g)


def test_left_arrows_point_the_other_way() -> None:
    g = read("gan: z -> gen -> fake -> disc <- real; disc -> loss; loss -> gen")
    assert ("real", "disc", "") in edges(g) and ("fake", "disc", "") in edges(g)
    assert "disc real" not in " | ".join(g.steps)
    g = read("loss <- head <- backbone <- img; aux <- backbone")
    assert g.steps[:4] == ("img", "backbone", "head", "loss")
    assert ("backbone", "aux", "") in edges(g)


def test_a_new_head_after_a_semicolon_starts_its_own_chain() -> None:
    g = read(
        "source -> encoder; target -> decoder; encoder output also goes into the decoder's "
        "cross attention; decoder -> softmax"
    )
    assert g.steps == ("source", "encoder", "target", "decoder", "softmax")
    assert edges(g) == {
        ("source", "encoder", ""),
        ("target", "decoder", ""),  # not encoder -> target
        ("encoder", "decoder", ""),  # the decoder's cross attention is the decoder drawn
        ("decoder", "softmax", ""),
    }


def test_a_list_of_sources_before_an_arrow_meets_at_its_target() -> None:
    g = read("vae: x -> enc1 -> mu; x -> enc2 -> sigma; mu, sigma -> z -> dec -> x_hat")
    assert ("mu", "z", "") in edges(g) and ("sigma", "z", "") in edges(g)
    assert "mu, sigma" not in " | ".join(g.steps)
    g = read("x -> gen -> rec_x; (real_x, rec_x) -> loss")
    assert ("real_x", "loss", "") in edges(g) and ("rec_x", "loss", "") in edges(g)
