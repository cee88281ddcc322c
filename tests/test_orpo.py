"""ORPO on the CPU with a tiny random model and a tiny LoRA: loss, preference, output folder."""

import json
import math

import pytest
import torch

from diagrammer.cli import main
from engine.diagram.spec import extract_spec
from engine.llm import prompt as prompts
from engine.llm import tiny
from engine.llm.load import load
from training.orpo import OrpoConfig, log1mexp, orpo_loss, prompt_text, train

ROUND = "layers: {}\nshape: round rectangle 52x40\nline: dashed line 30 30 30"
CIRCLE = "layers: {}\nshape: circle 40x40\nline: solid arrow 60 60 60"
SIZES = ["3 5 2", "2 4 1", "4 6 6 2", "3 3"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny base model, a tiny LoRA adapter on it (the "current" one) and toy pairs."""
    from peft import LoraConfig, get_peft_model

    root = tmp_path_factory.mktemp("orpo")
    base = tiny.save(root / "base", "llama")
    model = load(str(base), device="cpu").model
    lora = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(root / "current")
    tok = tiny.tokenizer()
    rows = [
        {
            # half the prompts stored as the model saw them, half as bare requests
            "prompt": prompts.build(tok, f"an MLP {s}", None) if i % 2 else f"an MLP {s}",
            "chosen": ROUND.format(s),
            "rejected": CIRCLE.format(s),
        }
        for i, s in enumerate(SIZES)
    ]
    pairs = root / "pairs.jsonl"
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root, base, pairs


def test_odds_ratio_term_matches_the_formula():
    x = torch.tensor([-0.05, -0.7, -3.0, -40.0])
    assert torch.allclose(log1mexp(x), torch.log(1 - torch.exp(x.double())).float(), rtol=1e-5)
    same, ratio = orpo_loss(torch.tensor([-1.0]), torch.tensor([-1.0]), beta=0.5)
    assert ratio.item() == pytest.approx(0.0) and same.item() == pytest.approx(0.5 * math.log(2))
    p_w, p_l = 0.6, 0.2  # odds 1.5 and 0.25: ratio 6
    term, ratio = orpo_loss(torch.tensor([math.log(p_w)]), torch.tensor([math.log(p_l)]), 1.0)
    assert ratio.item() == pytest.approx(math.log(6), rel=1e-5)
    assert term.item() == pytest.approx(math.log(1 + 1 / 6), rel=1e-5)


def test_stored_prompts_are_kept_and_bare_requests_are_built():
    tok = tiny.tokenizer()
    built = prompts.build(tok, "an MLP 3 5 2", None)
    assert prompt_text(tok, built) == built
    bare = "an MLP 3-5-2"
    assert prompt_text(tok, bare) == prompts.build(tok, bare, extract_spec(bare))
    assert "hint: layers 3 5 2" in prompt_text(tok, bare)


def test_orpo_learns_the_preference_and_writes_a_loadable_adapter(setup):
    root, base, pairs = setup
    cfg = OrpoConfig(
        pairs=pairs,
        out=root / "new",
        base_adapter=root / "current",
        base=str(base),
        beta=0.5,
        lr=2e-2,
        max_steps=12,
        batch_size=4,
        micro_batch=2,  # two micro-batches a step: gradient accumulation runs
        warmup=1,
        device="cpu",
    )
    summary = train(cfg)
    log = [json.loads(line) for line in (root / "new" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 13))
    assert log[-1]["loss"] < log[0]["loss"]
    assert summary["log_odds_after"] > summary["log_odds_before"] + 0.15
    assert summary["pairs_preferred_after"] == 1.0
    assert (root / "new" / "loss.png").is_file()
    # the copy was trained, the current adapter left as it was
    lm = load(str(base), device="cpu")
    lm.use_adapter("current", root / "current")
    lm.use_adapter("new", root / "new")
    assert lm.adapter == "new"
    before = (root / "current" / "adapter_model.safetensors").read_bytes()
    assert before != (root / "new" / "adapter_model.safetensors").read_bytes()


def test_command_refuses_a_missing_pairs_file(tmp_path, capsys):
    code = main(["train", "orpo", "--pairs", str(tmp_path / "no.jsonl"), "--out", str(tmp_path)])
    assert code == 2 and "no such pairs file" in capsys.readouterr().err


def test_the_engine_trainer_runs_orpo_on_a_copy_of_the_served_adapter(setup, tmp_path):
    from engine.service.config import Settings
    from training.trainer import PipelineTrainer

    root, base, pairs = setup
    trainer = PipelineTrainer(Settings(model=str(base), adapter="none", device="cpu"))
    summary = trainer.orpo(pairs, str(root / "current"), tmp_path / "v2")
    assert summary["pairs"] == len(SIZES) and summary["steps"] == 1
    assert (tmp_path / "v2" / "adapter_config.json").is_file()
