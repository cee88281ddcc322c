"""LoRA supervised fine-tuning: request (+ extractor hint) -> sketch + end token.

Our own short loop rather than TRL's SFTTrainer: the lent GPU's image has neither `trl` nor
`datasets`, the job is small (a 135M model, ~100-token examples), and the two things that
went wrong in the original project are easiest to get right where they are visible:
- completion-only loss: the prompt's labels are -100, the sketch's are its tokens;
- the end token stays in the labels (and padding uses a different token), so the model
  learns where its answer ends.

Adapter v2 (2026-12-03) kept this loop rather than TRL's SFTTrainer. Measured since: the
wheels TRL 1.16 needs beyond the GPU image (trl, datasets, dill, multiprocess, xxhash, fsspec)
are 2.5 MB in all, so carrying them is no obstacle; what keeps this loop is that a switch
must show results at least as good as v1's (a retrain and the dev-set benchmark on the GPU,
~10 device minutes this project has not yet spent on it), and that TRL's ORPO lives in
`trl.experimental.orpo` (not its stable API), so only half the training would move.

Deterministic by seed (data order, hint dropout, LoRA init), resumable from the last
checkpoint (adapter, optimizer, scheduler, step), with a tqdm bar, a JSON-lines log and a
loss-curve PNG. bf16 autocast on a GPU; float32 on the CPU for tiny smoke runs.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from engine.diagram.model import Spec
from engine.diagram.spec import extract_spec
from engine.llm import prompt as prompts
from training.data import synth

IGNORE = -100


@dataclass
class SftConfig:
    data: Path
    out: Path
    base: str = "default"
    epochs: float = 1.0
    max_steps: int | None = None
    lr: float = 5e-4
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    batch_size: int = 32
    max_len: int = 256
    warmup: int = 30
    hint_dropout: float = 0.1  # share of examples trained without the extractor's hint
    val_size: int = 256
    checkpoint_every: int = 200
    stop_after: int | None = None  # end this session early (checkpointed), as if interrupted
    time_limit: float | None = None  # seconds; end early (checkpointed) to fit a time box
    seed: int = 0
    device: str = "auto"
    resume: bool = False


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


def _data_chunk(job: tuple[int, int] | tuple[int, int, int]) -> list[str]:
    """One worker's share of `make_data`: n examples of one seed, with their hints.

    The hint is the pipeline's: the spec extractor's reading, else (v2) the catalogue entry
    the request names (engine/pipeline.py spec_of), as the prompt carries it when served."""
    n, seed, version = (*job, 1) if len(job) == 2 else job
    lines = []
    for e in synth.examples(n, seed, version):
        row = e.as_json()
        row = {k: row[k] for k in ("description", "sketch", "spec", "kind", "template")}
        hint = extract_spec(e.description)
        if hint is None and version > 1:
            # Deferred: engine.pipeline loads transformers (seconds), which making data needs not.
            from engine.pipeline import named_spec  # noqa: PLC0415

            hint = named_spec(e.description)
        row["hint"] = None if hint is None else asdict(hint)
        lines.append(json.dumps(row) + "\n")
    return lines


def make_data(path: Path, n: int, seed: int, chunks: int = 16, version: int = 1) -> Path:
    """n synthetic examples (training/data/synth.py) in `chunks` seeded parts, made in
    parallel: part k uses seed `seed * 1000 + k`, so the file depends on (n, seed, chunks)
    alone, not on the machine. Each row carries the extractor's hint (see build_examples)."""
    from multiprocessing import Pool  # noqa: PLC0415

    sizes = [n // chunks + (k < n % chunks) for k in range(chunks)]
    jobs = [(size, seed * 1000 + k, version) for k, size in enumerate(sizes)]
    with Pool(min(chunks, os.cpu_count() or 1)) as pool:
        parts = pool.map(_data_chunk, jobs)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for part in parts:
            f.writelines(part)
    return Path(path)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def encode(
    tokenizer: object, description: str, sketch: str, spec: Spec | None, max_len: int
) -> Example:
    """Prompt tokens masked out of the loss; sketch tokens and the end token kept."""
    head = tokenizer(prompts.build(tokenizer, description, spec), add_special_tokens=False)
    tail = tokenizer(prompts.answer(tokenizer, sketch), add_special_tokens=False)
    ids = (head["input_ids"] + tail["input_ids"])[:max_len]
    labels = ([IGNORE] * len(head["input_ids"]) + tail["input_ids"])[:max_len]
    return Example(ids, labels)


def build_examples(
    rows: list[dict],
    tokenizer: object,
    spec_of: Callable[[str], Spec | None],
    hint_dropout: float,
    max_len: int,
    seed: int,
) -> list[Example]:
    """Examples whose hint is what the extractor finds at serving time (dropped at random).

    A row may carry that hint already (key "hint": {kind, layers, steps} or null), computed
    where the data was made, which spares the GPU machine the extraction.
    """
    rng = random.Random(seed)
    out = []
    for row in rows:
        keep = rng.random() >= hint_dropout
        if not keep:
            spec = None
        elif "hint" in row:
            spec = _spec(row["hint"])
        else:
            spec = spec_of(row["description"])
        out.append(encode(tokenizer, row["description"], row["sketch"], spec, max_len))
    return out


def _spec(raw: dict | None) -> Spec | None:
    if not raw:
        return None
    return Spec(raw["kind"], tuple(raw.get("layers") or ()), tuple(raw.get("steps") or ()))


def collate(batch: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padded positions are masked from attention and loss."""
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id)
    labels = torch.full((len(batch), width), IGNORE)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.input_ids)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def batches(examples: list[Example], size: int, seed: int, epoch: int) -> list[list[Example]]:
    """One epoch's batches in a seeded order (the same order again on resume)."""
    order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed + epoch))
    idx = order.tolist()
    return [[examples[i] for i in idx[k : k + size]] for k in range(0, len(idx), size)]


def schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def steps_of(examples: int, cfg: SftConfig) -> int:
    """--max-steps when given, else the steps of --epochs."""
    return cfg.max_steps or math.ceil(math.ceil(examples / cfg.batch_size) * cfg.epochs)


def stream(examples: list[Example], cfg: SftConfig, start: int) -> Iterator[list[Example]]:
    """The batches from global step `start` on, epoch after epoch."""
    per_epoch = math.ceil(len(examples) / cfg.batch_size)
    epoch, skip = divmod(start, per_epoch)
    while True:
        yield from batches(examples, cfg.batch_size, cfg.seed, epoch)[skip:]
        epoch, skip = epoch + 1, 0


@torch.no_grad()
def evaluate(model: torch.nn.Module, examples: list[Example], cfg: SftConfig, pad: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for k in range(0, len(examples), cfg.batch_size):
        batch = {
            key: v.to(model.device)
            for key, v in collate(examples[k : k + cfg.batch_size], pad).items()
        }
        with _autocast(model.device):
            loss = model(**batch).loss
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        total, count = total + float(loss) * n, count + n
    model.train()
    return total / max(1, count)


def _autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def plot_loss(log: list[dict], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

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
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict  # noqa: PLC0415
    from safetensors.torch import load_file  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    # Deferred like transformers above: engine.llm.load imports it; making data needs none.
    from engine.llm.load import pick_device, prepare_tokenizer, resolve  # noqa: PLC0415

    spec_of = spec_of or extract_spec
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    out, ckpt = Path(cfg.out), Path(cfg.out) / "checkpoint"
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    where = resolve(cfg.base)
    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(where, local_files_only=True))
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, local_files_only=True)
    lora = LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora).to(device)
    rows = read_jsonl(cfg.data)
    examples = build_examples(rows, tok, spec_of, cfg.hint_dropout, cfg.max_len, cfg.seed)
    k = min(cfg.val_size, len(examples) // 10)
    val, examples = examples[:k], examples[k:]
    if not examples:
        examples, val = val, val
    total = steps_of(len(examples), cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, total, cfg.warmup))
    step, log = 0, []
    if cfg.resume and (ckpt / "state.pt").is_file():
        set_peft_model_state_dict(model, load_file(str(ckpt / "adapter_model.safetensors")))
        state = torch.load(ckpt / "state.pt", weights_only=False)
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, log = state["step"], state["log"]
        torch.set_rng_state(state["rng"])
    log_file = open(out / "train_log.jsonl", "w", encoding="utf-8")  # noqa: SIM115
    log_file.writelines(json.dumps(r) + "\n" for r in log)
    started = time.perf_counter()
    model.train()
    bar = tqdm(total=total, initial=step, desc="sft", unit="step", mininterval=5)
    for batch in stream(examples, cfg, step):
        out_of_time = cfg.time_limit and time.perf_counter() - started > cfg.time_limit
        if step >= total or (cfg.stop_after and step >= cfg.stop_after) or out_of_time:
            break
        batch = {k: v.to(device) for k, v in collate(batch, tok.pad_token_id).items()}
        with _autocast(device):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        record = {"step": step, "loss": round(loss.item(), 5), "lr": sched.get_last_lr()[0]}
        record["seconds"] = round(time.perf_counter() - started, 1)
        if step % cfg.checkpoint_every == 0 or step in (total, cfg.stop_after):
            record["val_loss"] = round(evaluate(model, val, cfg, tok.pad_token_id), 5)
            _checkpoint(model, opt, sched, step, log + [record], ckpt)
        log.append(record)
        log_file.write(json.dumps(record) + "\n")
        bar.set_postfix(loss=f"{record['loss']:.3f}")
        bar.update()
    bar.close()
    if log and "val_loss" not in log[-1]:  # stopped by the time limit: checkpoint here
        log[-1]["val_loss"] = round(evaluate(model, val, cfg, tok.pad_token_id), 5)
        _checkpoint(model, opt, sched, step, log, ckpt)
    log_file.close()
    model.save_pretrained(out)
    plot_loss(log, out / "loss.png")
    summary = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "examples": len(examples),
        "val_examples": len(val),
        "steps": step,
        "final_loss": log[-1]["loss"] if log else None,
        "val_loss": next((r["val_loss"] for r in reversed(log) if "val_loss" in r), None),
        "seconds": round(time.perf_counter() - started, 1),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "trainable_params": sum(p.numel() for p in params),
    }
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _checkpoint(model, opt, sched, step: int, log: list[dict], folder: Path) -> None:
    """Adapter weights and loop state, written so that `resume` continues exactly here."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    state = {
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "step": step,
        "log": log,
        "rng": torch.get_rng_state(),
    }
    torch.save(state, folder / "state.pt")
