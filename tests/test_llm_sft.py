"""SFT (TRL's SFTTrainer) on the CPU with a tiny random model: masking, end token, what TRL's
collator makes of our examples, determinism, resume."""

import json

import pytest
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from engine.diagram.model import Spec
from engine.llm import tiny
from training.sft import SftConfig, train
from training.sft_data import IGNORE, encode

SKETCHES = [
    ("an MLP 3-5-2", "layers: 3 5 2\ndirection: right\nshape: circle 40x40"),
    ("flowchart: load, clean, train", "steps: load | clean | train\ndirection: down"),
    ("a 2-4-1 net", "layers: 2 4 1\ndirection: right"),
    ("steps a then b", "steps: a | b\nline: dashed line 30 30 30"),
] * 5


def hint(text: str) -> Spec | None:
    return Spec("network", layers=(3, 5, 2)) if "3-5-2" in text else None


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    data = root / "data.jsonl"
    data.write_text(
        "".join(json.dumps({"description": d, "sketch": s}) + "\n" for d, s in SKETCHES)
    )
    return root, tiny.save(root / "base", "qwen2"), data


def config(root, base, data, name, **kw):
    kw = {
        "max_steps": 6,
        "batch_size": 4,
        "lr": 1e-2,
        "warmup": 1,
        "checkpoint_every": 3,
        "val_size": 4,
    } | kw
    return SftConfig(data=data, out=root / name, base=str(base), device="cpu", seed=3, **kw)


def test_prompt_is_masked_and_the_end_token_is_learned():
    tok = tiny.tokenizer()
    e = encode(tok, "an MLP 3-5-2", "layers: 3 5 2", Spec("network", layers=(3, 5, 2)), 256)
    answer = tok("layers: 3 5 2<|im_end|>", add_special_tokens=False)["input_ids"]
    assert e.labels[-len(answer) :] == answer and e.labels[-1] == tok.eos_token_id
    assert e.labels[: -len(answer)] == [IGNORE] * (len(e.input_ids) - len(answer))
    short_one = encode(tok, "x", "steps: a", None, 256)
    collate = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)
    batch = collate([{"input_ids": x.input_ids, "labels": x.labels} for x in (e, short_one)])
    short = batch["attention_mask"][1] == 0
    assert (batch["labels"][1][short] == IGNORE).all()
    assert (batch["input_ids"][1][short] == tok.pad_token_id).all()


@pytest.fixture(scope="module")
def straight(setup):
    root, base, data = setup
    return train(config(root, base, data, "a"), spec_of=hint)


def test_train_writes_adapter_log_plot_and_learns(setup, straight):
    out = setup[0] / "a"
    for name in ("adapter_config.json", "adapter_model.safetensors", "loss.png", "train_log.jsonl"):
        assert (out / name).is_file(), name
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [r for r in log if "loss" in r]
    assert [r["step"] for r in losses] == [1, 2, 3, 4, 5, 6]
    val = [(r["step"], r["val_loss"]) for r in log if "val_loss" in r]
    assert [step for step, _ in val] == [3, 6] and val[1][1] < val[0][1]
    assert losses[-1]["loss"] < losses[0]["loss"]
    assert straight["steps"] == 6 and straight["val_loss"] is not None


def test_an_interrupted_run_resumes_to_the_same_result(setup, straight):
    """Same seed, same data order and dropout: the resumed run ends where the straight one did
    (which also needs the runs to be deterministic)."""
    root, base, data = setup
    train(config(root, base, data, "c", stop_after=3), spec_of=hint)  # "interrupted" at 3
    resumed = train(config(root, base, data, "c", resume=True), spec_of=hint)
    assert resumed["steps"] == 6
    assert resumed["final_loss"] == pytest.approx(straight["final_loss"], rel=1e-4)
