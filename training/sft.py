"""LoRA supervised fine-tuning on TRL's SFTTrainer: request (+ extractor hint) -> sketch.

The examples come tokenised from training/sft_data.py (prompt masked, end token learned), so
SFTTrainer takes them as they are ("input_ids" and "labels": no chat template or masking of
its own) and brings the rest: padding, bf16, the warm-up + cosine schedule, evaluation,
checkpoints that resume exactly (optimizer, scheduler, RNG, data position), the progress bar.
What stays here is what the product adds: the LoRA, a JSON-lines log with the validation
loss, a loss-curve PNG, an early stop for a time box, and a summary.

Deterministic by seed (data order, hint dropout, LoRA init). bf16 on a GPU; float32 on the
CPU for tiny smoke runs. v1's recipe on this trainer (one H200, 200 s): validation loss 0.173
against v1's 0.172; served, one structure request behind v1 on dev at sampling seed 0 and
two requests ahead at seed 1 (docs/notes-llm.md, "SFT on TRL's SFTTrainer").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import matplotlib
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
)
from transformers.trainer_utils import get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from engine.diagram.model import Spec
from engine.diagram.spec import extract_spec
from engine.llm.load import pick_device, prepare_tokenizer, resolve
from training.config import SftConfig
from training.sft_data import Example, build_examples, read_jsonl

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

MIN_LR_RATE = 0.1  # the cosine decays to 10% of the peak learning rate


class _Log(TrainerCallback):
    """The run's log as JSON lines ({step, loss, lr, seconds} a step, {step, val_loss} at each
    evaluation), and the early stops: `stop_after` steps, or `time_limit` seconds."""

    def __init__(self, cfg: SftConfig, path: Path, log: list[dict]) -> None:
        self.cfg, self.log, self.file = cfg, log, open(path, "w", encoding="utf-8")  # noqa: SIM115
        self.file.writelines(json.dumps(r) + "\n" for r in log)
        self.started = time.perf_counter()

    def on_log(self, args, state: TrainerState, control: TrainerControl, logs=None, **kw):
        logs = logs or {}
        if "loss" in logs:
            record = {"step": state.global_step, "loss": round(logs["loss"], 5)}
            record |= {"lr": logs.get("learning_rate"), "seconds": self.seconds()}
        elif "eval_loss" in logs:
            record = {"step": state.global_step, "val_loss": round(logs["eval_loss"], 5)}
        else:
            return
        self.log.append(record)
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def on_step_end(self, args, state: TrainerState, control: TrainerControl, **kw):
        stop = self.cfg.stop_after and state.global_step >= self.cfg.stop_after
        if stop or (self.cfg.time_limit and self.seconds() > self.cfg.time_limit):
            control.should_training_stop = True
        if control.should_training_stop or state.global_step >= state.max_steps:
            control.should_save = control.should_evaluate = True  # the last step: measured, kept
        return control

    def on_train_end(self, args, state: TrainerState, control: TrainerControl, **kw):
        self.file.close()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 1)


def dataset(examples: list[Example]) -> Dataset:
    return Dataset.from_list([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])


def trainer_args(cfg: SftConfig, device: torch.device) -> SFTConfig:
    """Our config in TRL's terms (the rest are TRL's defaults, logged in the checkpoint)."""
    return SFTConfig(
        output_dir=str(Path(cfg.out) / "checkpoints"),
        max_steps=cfg.max_steps or -1,
        num_train_epochs=cfg.epochs,
        learning_rate=cfg.lr,
        weight_decay=0.0,
        max_grad_norm=1.0,
        lr_scheduler_type="cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": MIN_LR_RATE},
        warmup_steps=cfg.warmup,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        max_length=cfg.max_len,
        eval_strategy="steps",
        eval_steps=cfg.checkpoint_every,
        save_steps=cfg.checkpoint_every,
        save_total_limit=1,
        logging_steps=1,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=device.type == "cuda",
        use_cpu=device.type == "cpu",
        gradient_checkpointing=False,  # a 135M model with ~100-token examples fits as it is
        report_to="none",
        disable_tqdm=False,
    )


def plot_loss(log: list[dict], path: Path) -> None:
    train = [(r["step"], r["loss"]) for r in log if "loss" in r]
    val = [(r["step"], r["val_loss"]) for r in log if "val_loss" in r]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if train:
        ax.plot(*zip(*train, strict=True), label="train", lw=1)
    if val:
        ax.plot(*zip(*val, strict=True), "o-", label="validation")
    ax.set(xlabel="step", ylabel="loss (per sketch token)", yscale="log", title="SFT loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(cfg: SftConfig, spec_of: Callable[[str], Spec | None] | None = None) -> dict:
    """Run (or resume) one SFT job; writes the adapter, log and plot into cfg.out."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    where = resolve(cfg.base)
    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(where, local_files_only=True))
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, local_files_only=True)
    rows = read_jsonl(cfg.data)
    spec_of = spec_of or extract_spec
    examples = build_examples(rows, tok, spec_of, cfg.hint_dropout, cfg.max_len, cfg.seed)
    k = min(cfg.val_size, len(examples) // 10)
    val, examples = examples[:k], examples[k:]
    if not examples:
        examples, val = val, val
    args = trainer_args(cfg, device)
    resumable = cfg.resume and Path(args.output_dir).is_dir()
    last = get_last_checkpoint(args.output_dir) if resumable else None
    log = _earlier_log(out / "train_log.jsonl", last)
    callback = _Log(cfg, out / "train_log.jsonl", log)
    lora = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=base,
        args=args,
        train_dataset=dataset(examples),
        eval_dataset=dataset(val),
        processing_class=tok,
        peft_config=lora,
        callbacks=[callback],
    )
    trainer.train(resume_from_checkpoint=last)
    trainer.save_model(str(out))
    plot_loss(log, out / "loss.png")
    state = trainer.state
    summary = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "examples": len(examples),
        "val_examples": len(val),
        "steps": state.global_step,
        "final_loss": next((r["loss"] for r in reversed(log) if "loss" in r), None),
        "val_loss": next((r["val_loss"] for r in reversed(log) if "val_loss" in r), None),
        "seconds": callback.seconds(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _earlier_log(path: Path, checkpoint: str | None) -> list[dict]:
    """On resume, the log up to the checkpoint's step (what came after it is redone)."""
    if checkpoint is None or not path.is_file():
        return []
    step = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json")).global_step
    return [r for r in read_jsonl(path) if r["step"] <= step]
