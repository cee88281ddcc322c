"""ML process flowcharts: plain chains, forks that join again, and yes/no decisions.

A flow is its steps in order, its edges (0-based), and its trunk: the main path from the
first step to the end, which is the spec a request states ("a -> b -> c"; branches are extra
boxes, engine/diagram/fidelity.py allows them). Step names are short, lowercase and free of
articles, pronouns and list words (",", " and ", "then"), so a request can quote them verbatim
and a reader (or engine/diagram/spec.py) gets exactly the boxes back.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from training.data.steps import list_steps
from training.data.wording import Words

# Process families: stages in their natural order, each stage a few ways to name it.
PROCESSES: dict[str, tuple[tuple[str, ...], ...]] = {
    "machine learning": (
        ("collect data", "load data", "gather data", "load dataset", "ingest data", "read csv"),
        ("clean data", "preprocess data", "data cleaning", "handle missing values"),
        ("feature engineering", "extract features", "select features", "encode categories"),
        ("normalize features", "scale features", "standardize inputs"),
        ("split data", "train/test split", "split dataset"),
        ("train model", "fit model", "train classifier", "train baseline", "training"),
        ("tune hyperparameters", "grid search", "cross-validate", "hyperparameter search"),
        ("evaluate model", "evaluate", "test model", "compute metrics", "evaluation"),
        ("deploy model", "deploy", "ship to production", "serve model", "export model"),
        ("monitor performance", "monitor", "collect feedback", "track drift"),
    ),
    "nlp": (
        ("raw text", "load corpus", "collect text"),
        ("tokenize", "tokenize text", "split sentences"),
        ("remove stopwords", "lowercase text", "strip punctuation"),
        ("lemmatize", "stem words"),
        ("build vocabulary", "embed tokens", "compute tf-idf"),
        ("train classifier", "fine-tune bert", "train language model"),
        ("predict labels", "generate text", "classify documents"),
    ),
    "computer vision": (
        ("load images", "collect images", "capture photos"),
        ("label images", "annotate boxes"),
        ("resize images", "crop images"),
        ("augment data", "random flips", "data augmentation"),
        ("normalize pixels", "normalize images"),
        ("train cnn", "fine-tune resnet", "train detector"),
        ("evaluate accuracy", "compute map", "check confusion matrix"),
        ("export onnx", "deploy on device", "quantize model"),
    ),
    "rag": (
        ("user question", "receive query", "user prompt"),
        ("embed query", "encode question"),
        ("search vector store", "retrieve documents", "vector search"),
        ("rerank results", "filter passages"),
        ("build prompt", "add context"),
        ("call llm", "generate answer", "run language model"),
        ("return answer", "show response", "cite sources"),
    ),
    "mlops": (
        ("commit code", "push to git", "open pull request"),
        ("run tests", "run unit tests", "lint code"),
        ("build container", "build docker image"),
        ("train model", "retrain model", "run training job"),
        ("register model", "log to registry", "version model"),
        ("deploy to staging", "canary release"),
        ("a/b test", "shadow test", "smoke test"),
        ("promote to production", "roll out", "release"),
    ),
    "fine-tuning": (
        ("collect prompts", "gather examples", "collect conversations"),
        ("write answers", "label responses", "rank responses"),
        ("filter data", "deduplicate", "clean examples"),
        ("tokenize", "format chat template"),
        ("fine-tune model", "train lora adapter", "run sft"),
        ("evaluate on benchmark", "human evaluation", "run evals"),
        ("merge adapter", "publish model", "release adapter"),
    ),
    "data pipeline": (
        ("extract", "read source tables", "pull from api"),
        ("validate schema", "check types"),
        ("transform", "join tables", "aggregate"),
        ("deduplicate rows", "drop nulls"),
        ("load", "write to warehouse", "save parquet"),
        ("build dashboard", "refresh report"),
    ),
    "experiment": (
        ("define hypothesis", "pick metric"),
        ("design experiment", "choose baseline"),
        ("run experiment", "train variants"),
        ("analyze results", "compare runs"),
        ("write report", "share findings"),
    ),
}
TOPIC_WORDS = {
    "machine learning": ("ML", "machine learning", "model training", "training"),
    "nlp": ("NLP", "text classification", "language"),
    "computer vision": ("computer vision", "image classification", "vision"),
    "rag": ("RAG", "retrieval", "question answering"),
    "mlops": ("MLOps", "CI/CD", "deployment"),
    "fine-tuning": ("fine-tuning", "LLM fine-tuning", "instruction tuning"),
    "data pipeline": ("ETL", "data", "data engineering"),
    "experiment": ("experiment", "research", "A/B experiment"),
}
FORK_TRUNK = {s for stage in PROCESSES["machine learning"][:5] for s in stage}
PARALLEL = (
    ("train random forest", "train svm", "train xgboost", "train logistic regression",
     "train mlp", "train knn"),
    ("train small model", "train large model", "train distilled model"),
    ("evaluate on validation", "evaluate on test", "evaluate on holdout"),
    ("extract text features", "extract image features", "extract audio features"),
)  # fmt: skip
JOINS = ("compare models", "pick best model", "ensemble predictions", "combine features",
         "merge results", "select winner", "aggregate scores")  # fmt: skip
AFTER_JOIN = ("deploy best", "write report", "deploy winner", "serve predictions")
DECISIONS = (  # (node text, how a request says it)
    ("accuracy above 90%?", "accuracy above 90%"),
    ("good enough?", "good enough"),
    ("tests pass?", "tests pass"),
    ("loss converged?", "loss converged"),
    ("drift detected?", "drift detected"),
    ("beats baseline?", "beats baseline"),
    ("metrics ok?", "metrics ok"),
    ("f1 above 0.8?", "f1 above 0.8"),
    ("approved?", "approved"),
)
YES = ("deploy", "deploy model", "ship", "release", "promote to production", "save model")
AFTER_YES = ("monitor", "monitor performance", "notify team", "log results")
NO = ("tune hyperparameters", "collect more data", "alert team", "retrain", "try new features",
      "roll back", "fix bugs", "rollback")  # fmt: skip


@dataclass(frozen=True)
class Flow:
    steps: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]  # 0-based; () = the chain in order
    trunk: tuple[str, ...]  # the spec: a chain of direct edges through the diagram
    description: str
    template: str


def _stages(rng: random.Random, family: str, count: int) -> list[str]:
    """`count` stages of a process family, in order, one name each."""
    stages = PROCESSES[family]
    picked = sorted(rng.sample(range(len(stages)), min(count, len(stages))))
    return [rng.choice(stages[i]) for i in picked]


def _family(rng: random.Random) -> str:
    return rng.choices(tuple(PROCESSES), weights=(6, 2, 2, 2, 2, 2, 1, 1))[0]


def _frame(w: Words, family: str, listed: str, n: int) -> str:
    """Words around a listed chain of steps (30+ ways)."""
    topic = w.pick(TOPIC_WORDS[family])
    noun = w.pick(("flowchart", "flow chart", "flowchart", "process diagram", "pipeline diagram",
                   "workflow diagram", "diagram"))  # fmt: skip
    frames = (
        "{o} a {noun}: {L}",
        "{o} a {noun} of {L}",
        "{noun}: {L}",
        "{noun} for the {t} pipeline: {L}",
        "{t} pipeline: {L}",
        "{t} workflow: {L}",
        "{o} the {t} workflow: {L}",
        "{o} a {noun} showing our {t} process: {L}",
        "{L}",
        "{L}. draw it as a {noun}",
        "{L} - as a {noun} please",
        "steps: {L}",
        "pipeline with these steps: {L}",
        "{o} a simple {noun} with {n} steps: {L}",
        "can you make a {noun} of our {t} process: {L}",
        "our {t} process: {L}. please draw it",
        "{o} a chart of the stages: {L}",
        "flow diagram: {L}",
        "for my team, a {noun} of how we do {t}: {L}",
        "diagram: {L}",
        "how our {t} pipeline works: {L}. make a {noun}",
        "{o} the process: {L}",
        "visualize this pipeline: {L}",
        "workflow: {L}",
        "a {n}-step {t} process: {L}",
        "I need a {noun} for a presentation on {t}: {L}",
        "{o} a {noun} of the {t} loop: {L}",
        "show the pipeline: {L}",
        "{t} process flowchart: {L}",
        "quick {noun} please: {L}",
        "process: {L}",
        "{o} a vertical {noun} of the steps: {L}",
    )
    frame = w.pick(frames)
    if "vertical" in frame:  # a direction said in passing would bind the answer: avoid it
        frame = frame.replace("vertical ", "")
    return frame.format(o=w.opener(), noun=noun, t=topic, L=listed, n=w.num(n))


def chain_flow(w: Words) -> Flow:
    family = _family(w.rng)
    steps = _stages(w.rng, family, w.rng.randint(3, 9))
    text = _frame(w, family, list_steps(steps, w), len(steps))
    return Flow(tuple(steps), (), tuple(steps), text, "chain")


def decision_flow(w: Words) -> Flow:
    """trunk ... -> question? -> yes steps; question? -> no step."""
    family = w.rng.choice(("machine learning", "machine learning", "mlops", "fine-tuning"))
    trunk = _stages(w.rng, family, w.rng.randint(2, 4))
    node, said = w.pick(DECISIONS)
    yes = [w.pick([s for s in YES if s not in trunk])]
    yes += [w.pick(AFTER_YES)] if w.chance(0.4) else []
    no = w.pick([s for s in NO if s not in trunk])
    steps = [*trunk, node, *yes, no]
    q = len(trunk)
    edges = [(i, i + 1) for i in range(q)] + [(q, q + 1)]
    edges += [(q + 1, q + 2)] if len(yes) == 2 else []
    edges.append((q, len(steps) - 1))
    yes_text = w.join(yes) if len(yes) == 1 else f"{yes[0]} and then {yes[1]}"
    listed = list_steps(trunk, w, simple=True)
    forms = (
        f"{listed}, then check if {said}: if yes {yes_text}, if no {no}",
        f"{listed}, then ask {node} yes: {yes_text}. no: {no}",
        f"flowchart: {listed}, then a decision {node} If yes, {yes_text}; otherwise {no}.",
        f"{listed}. Then decide {node} yes -> {yes_text}, no -> {no}",
        f"{_frame(w, family, listed, q)}. After that a decision {node} (yes: {yes_text}; no: {no})",
        f"draw a flowchart with a decision: {listed}, then {node} If yes {yes_text}, else {no}.",
        f"{listed} and then check whether {said}. if so, {yes_text}. if not, {no}",
        f"process: {listed}; decision {node} yes leads to {yes_text}, no leads to {no}",
    )
    text = w.pick(forms)
    return Flow(tuple(steps), tuple(edges), (*trunk, node, *yes), text, "decision")


def fork_flow(w: Words) -> Flow:
    """trunk ... -> parallel branches -> join -> after ..."""
    trunk = _stages(w.rng, "machine learning", w.rng.randint(1, 3))
    trunk = [s for s in trunk if s in FORK_TRUNK]
    trunk = trunk or ["load data"]
    group = w.pick(PARALLEL)
    branches = w.rng.sample(group, w.rng.choice((2, 2, 3)))
    join = w.pick(JOINS)
    after = w.rng.sample(AFTER_JOIN, w.rng.choice((0, 1, 1)))
    steps = [*trunk, *branches, join, *after]
    t, b = len(trunk), len(branches)
    edges = [(i, i + 1) for i in range(t - 1)] + [(t - 1, t + i) for i in range(b)]
    edges += [(t + i, t + b) for i in range(b)] + [
        (t + b + i, t + b + i + 1) for i in range(len(after))
    ]
    joined = w.join(branches)
    tail = f", then {after[0]}" if after else ""
    listed = list_steps(trunk, w, simple=True) if len(trunk) > 1 else trunk[0]
    forms = (
        f"{listed}, then in parallel {joined}; all of them feed into {join}{tail}",
        f"flowchart: {listed}, then branch into {joined}, which all lead to {join}{tail}",
        f"{listed}. after {trunk[-1]} split into {w.num(b)} parallel branches ({joined}) "
        f"and merge them in {join}{tail}",
        f"a pipeline that starts with {listed}, fans out to {joined}, "
        f"and joins again at {join}{tail}",
        f"draw a flowchart: {listed} goes to {joined} in parallel. those go to {join}{tail}",
        f"after {listed}, run {joined} side by side, then {join}{tail}",
        f"{w.opener()} a diagram where {trunk[-1]} branches to {joined} and each of them goes "
        f"to {join}{tail}. before {trunk[-1]}: {listed}",
    )
    text = w.pick(forms[:-1] if len(trunk) == 1 else forms)
    trunk_path = (*trunk, branches[0], join, *after)
    return Flow(tuple(steps), tuple(edges), trunk_path, text, "fork")


KINDS: tuple[Callable[[Words], Flow], ...] = (chain_flow, chain_flow, decision_flow, fork_flow)


def process_flow(w: Words) -> Flow:
    return w.rng.choice(KINDS)(w)
