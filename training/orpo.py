"""ORPO: teach the model which of its own sketches people prefer (Hong et al., 2024).

Odds-ratio preference optimisation needs no reference model. Per pair (prompt, chosen,
rejected) it adds to the usual NLL of the chosen answer a term that widens the odds ratio:

    logp(y)  = mean log-probability of y's tokens (the end token included)
    odds(y)  = p / (1 - p)  with p = exp(logp(y))
    loss     = NLL(chosen) - beta * log sigmoid(log odds(chosen) - log odds(rejected))

Our own short loop rather than TRL's ORPOTrainer (SFT does use TRL, training/sft.py): in
TRL 1.16 ORPO lives in `trl.experimental.orpo`, outside TRL's stable API, and the engine runs
this job on the user's machine, where TRL and `datasets` (with pyarrow and pandas, 280 MB
installed: the `train` extra) are not; and the memory that the original project ran out of
is easiest to keep small where it is visible:
- LoRA only: a copy of the current adapter keeps training (or a fresh LoRA on the bare
  model); the base weights stay frozen, in bf16 on a GPU;
- a step's pairs go through in micro-batches (chosen and rejected of a pair in the same
  forward pass) with gradient accumulation, and sequences are cut at `max_len`;
- optional gradient checkpointing for larger base models.

Pairs are TRL's JSON lines (engine/service/preferences.py): the prompt is the exact text the model
was given (engine/llm/prompt.py `build`); a bare request is wrapped by `build` here. Answers
get the end token, as in SFT, so a preferred answer also teaches where to stop.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from engine.diagram.spec import extract_spec
from engine.llm import prompt as prompts
from training.config import OrpoConfig
from training.sft_data import IGNORE, read_jsonl


@dataclass(frozen=True)
class PairIds:
    chosen: list[int]
    chosen_labels: list[int]
    rejected: list[int]
    rejected_labels: list[int]


def prompt_text(tokenizer: object, text: str) -> str:
    """The model's prompt: as stored when it already is one, else built from the request."""
    tail = prompts.build(tokenizer, "\x00", None).rsplit("\x00", 1)[1]  # after the user turn
    if tail.strip() and text.endswith(tail):
        return text
    return prompts.build(tokenizer, text, extract_spec(text))


def encode_pair(tokenizer: object, row: dict, max_len: int) -> PairIds:
    """Prompt tokens masked out of the loss, answer tokens and the end token kept."""
    head = tokenizer(prompt_text(tokenizer, row["prompt"]), add_special_tokens=False)["input_ids"]

    def side(answer: str) -> tuple[list[int], list[int]]:
        tail = tokenizer(prompts.answer(tokenizer, answer), add_special_tokens=False)["input_ids"]
        return (head + tail)[:max_len], ([IGNORE] * len(head) + tail)[:max_len]

    chosen, chosen_labels = side(row["chosen"])
    rejected, rejected_labels = side(row["rejected"])
    return PairIds(chosen, chosen_labels, rejected, rejected_labels)


def read_pairs(path: Path, tokenizer: object, max_len: int) -> list[PairIds]:
    """The usable pairs of a JSONL file: different answers, each with a token in the loss."""
    out = []
    for row in read_jsonl(path):
        if row["chosen"].strip() == row["rejected"].strip():
            continue
        pair = encode_pair(tokenizer, row, max_len)
        if any(t != IGNORE for t in pair.chosen_labels) and any(
            t != IGNORE for t in pair.rejected_labels
        ):
            out.append(pair)
    if not out:
        raise ValueError(f"no usable preference pairs in {path}")
    return out


def collate(pairs: list[PairIds], pad_id: int) -> dict[str, torch.Tensor]:
    """One right-padded batch: every chosen answer first, then every rejected one."""
    seqs = [(p.chosen, p.chosen_labels) for p in pairs]
    seqs += [(p.rejected, p.rejected_labels) for p in pairs]
    width = max(len(ids) for ids, _ in seqs)
    ids = torch.full((len(seqs), width), pad_id)
    labels = torch.full((len(seqs), width), IGNORE)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (s, lab) in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        labels[i, : len(lab)] = torch.tensor(lab)
        mask[i, : len(s)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def token_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence sum of the answer tokens' log-probabilities, and their count."""
    logits, labels = logits[:, :-1].float(), labels[:, 1:]
    keep = labels != IGNORE
    flat = logits.reshape(-1, logits.shape[-1])
    picked = -F.cross_entropy(flat, labels.reshape(-1).clamp(min=0), reduction="none")
    return (picked.view(labels.shape) * keep).sum(-1), keep.sum(-1)


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, accurate near 0 and far below it (Maechler, 2012)."""
    x = x.clamp(max=-1e-7)
    return torch.where(x > -math.log(2), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def orpo_loss(
    chosen_logp: torch.Tensor, rejected_logp: torch.Tensor, beta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The odds-ratio term (to be added to the chosen NLL) and the per-pair log odds ratio.

    The inputs are mean per-token log-probabilities, as in the paper (length-normalised)."""
    log_odds = (chosen_logp - rejected_logp) - (log1mexp(chosen_logp) - log1mexp(rejected_logp))
    return -beta * F.logsigmoid(log_odds).mean(), log_odds


def pair_losses(model: torch.nn.Module, batch: dict[str, torch.Tensor], beta: float) -> dict:
    """NLL of the chosen answers, the odds-ratio term and what to log, for one micro-batch."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    total, count = token_logps(logits, batch["labels"])
    n = total.shape[0] // 2
    mean = total / count.clamp(min=1)
    nll = -total[:n].sum() / count[:n].sum().clamp(min=1)
    odds_term, log_odds = orpo_loss(mean[:n], mean[n:], beta)
    return {
        "loss": nll + odds_term,
        "nll": nll,
        "odds": odds_term,
        "log_odds": log_odds.detach(),
        "chosen_logp": mean[:n].detach(),
        "rejected_logp": mean[n:].detach(),
        "preferred": (log_odds > 0).float(),  # pairs whose chosen answer has the higher odds
    }


@torch.no_grad()
def preference_margin(model: torch.nn.Module, pairs: list[PairIds], cfg: OrpoConfig, pad: int):
    """Mean log odds ratio over the pairs and the share where chosen has the higher odds."""
    was_training = model.training
    model.eval()
    ratios = []
    for k in range(0, len(pairs), cfg.micro_batch):
        batch = _to(collate(pairs[k : k + cfg.micro_batch], pad), model)
        with _autocast(model.device):
            ratios.append(pair_losses(model, batch, cfg.beta)["log_odds"].float().cpu())
    model.train(was_training)
    r = torch.cat(ratios)
    return round(float(r.mean()), 5), round(float((r > 0).float().mean()), 4)


def accumulate(
    model: torch.nn.Module, chunk: list[PairIds], cfg: OrpoConfig, pad: int
) -> dict[str, float]:
    """Gradients of one step's pairs, micro-batch by micro-batch; the step's mean values."""
    sums: dict[str, float] = {}
    for k in range(0, len(chunk), cfg.micro_batch):
        part = chunk[k : k + cfg.micro_batch]
        with _autocast(model.device):
            got = pair_losses(model, _to(collate(part, pad), model), cfg.beta)
        (got["loss"] * len(part) / len(chunk)).backward()
        for key, value in got.items():  # per-pair values add up; a mean counts len(part) times
            value = value.detach().float()
            total = value.sum() if value.dim() else value * len(part)
            sums[key] = sums.get(key, 0.0) + float(total)
    return {key: v / len(chunk) for key, v in sums.items()}


def _autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _to(batch: dict[str, torch.Tensor], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.to(model.device) for k, v in batch.items()}


def schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak learning rate."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def steps_of(pairs: int, cfg: OrpoConfig) -> int:
    return cfg.max_steps or math.ceil(math.ceil(pairs / cfg.batch_size) * cfg.epochs)


def stream(n: int, cfg: OrpoConfig) -> list[int]:
    """Pair indices for the whole run, epoch after epoch, each epoch in a seeded order."""
    order: list[int] = []
    epoch = 0
    while len(order) < steps_of(n, cfg) * cfg.batch_size:
        gen = torch.Generator().manual_seed(cfg.seed + epoch)
        order += torch.randperm(n, generator=gen).tolist()
        epoch += 1
    return order


def load_model(cfg: OrpoConfig) -> tuple[torch.nn.Module, object]:
    """The base model with a trainable LoRA (a copy of cfg.base_adapter, or a fresh one) on
    cfg.device."""
    from peft import LoraConfig, PeftModel, get_peft_model  # noqa: PLC0415
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    # Deferred like transformers above: engine.llm.load imports it (seconds), and reading
    # pairs or the loss needs none of it.
    from engine.llm.load import pick_device, prepare_tokenizer, resolve  # noqa: PLC0415

    device = pick_device(cfg.device)
    where = resolve(cfg.base)
    tok = prepare_tokenizer(AutoTokenizer.from_pretrained(where, local_files_only=True))
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    base = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, local_files_only=True)
    if cfg.gradient_checkpointing:
        base.gradient_checkpointing_enable()
        base.enable_input_require_grads()  # so checkpointed blocks see a grad-requiring input
    if cfg.base_adapter is not None:
        model = PeftModel.from_pretrained(base, str(cfg.base_adapter), is_trainable=True)
    else:
        lora = LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(base, lora)
    return model.to(device), tok


def plot_loss(log: list[dict], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    steps = [r["step"] for r in log]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in ("loss", "nll", "odds"):
        left.plot(steps, [r[key] for r in log], label=key, lw=1)
    left.set(xlabel="step", ylabel="loss", title="ORPO loss (nll + odds-ratio term)")
    left.legend()
    right.plot(steps, [r["chosen_logp"] for r in log], label="chosen", lw=1)
    right.plot(steps, [r["rejected_logp"] for r in log], label="rejected", lw=1)
    right.set(xlabel="step", ylabel="mean token log-prob", title="chosen vs rejected")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(cfg: OrpoConfig) -> dict:
    """One ORPO run; writes the adapter (peft folder), log, plot and summary into cfg.out."""
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model, tok = load_model(cfg)
    device = model.device
    pairs = read_pairs(cfg.pairs, tok, cfg.max_len)
    total = steps_of(len(pairs), cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, total, cfg.warmup))
    probe = random.Random(cfg.seed).sample(pairs, min(len(pairs), cfg.margin_pairs))
    before = preference_margin(model, probe, cfg, tok.pad_token_id)
    order, log = stream(len(pairs), cfg), []
    started = time.perf_counter()
    model.train()
    log_file = open(out / "train_log.jsonl", "w", encoding="utf-8")  # noqa: SIM115
    bar = tqdm(range(1, total + 1), desc="orpo", unit="step", mininterval=5)
    for step in bar:
        chunk = [pairs[i] for i in order[(step - 1) * cfg.batch_size : step * cfg.batch_size]]
        means = accumulate(model, chunk, cfg, tok.pad_token_id)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        record = {"step": step} | {k: round(v, 5) for k, v in means.items()}
        record |= {"lr": sched.get_last_lr()[0], "seconds": round(time.perf_counter() - started, 1)}
        log.append(record)
        log_file.write(json.dumps(record) + "\n")
        bar.set_postfix(loss=f"{record['loss']:.3f}", won=f"{record['preferred']:.2f}")
    log_file.close()
    after = preference_margin(model, probe, cfg, tok.pad_token_id)
    model.save_pretrained(out)
    plot_loss(log, out / "loss.png")
    summary = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "pairs": len(pairs),
        "steps": total,
        "first_loss": log[0]["loss"],
        "final_loss": log[-1]["loss"],
        "log_odds_before": before[0],
        "log_odds_after": after[0],
        "pairs_preferred_before": before[1],
        "pairs_preferred_after": after[1],
        "seconds": round(time.perf_counter() - started, 1),
        "peak_gpu_mib": _peak_mib(device),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "trainable_params": sum(p.numel() for p in params),
    }
    (out / "orpo_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _peak_mib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
