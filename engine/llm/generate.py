"""Batched sampling: N candidates for each of several prompts in one `generate` call.

Prompts are left-padded into one batch and each is repeated N times (num_return_sequences),
so one forward pass per step serves every candidate of every request. A candidate ends at
the model's end token or at a blank line (a sketch never contains one), and never runs past
max_new_tokens: generation is always bounded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from transformers import StoppingCriteriaList

from engine.llm.load import LoadedModel
from engine.llm.sampling import DEFAULT, SamplingParams
from engine.llm.stopping import BLANK_LINE, BlankLine, end_ids


@dataclass(frozen=True)
class Generation:
    """One candidate's text (special tokens and the stop string removed).

    tokens: new tokens generated, the end token included; finished: it ended by itself (end
    token, chat-turn marker or blank line) rather than at the token limit; seconds: wall time
    of the batch that produced it (candidates are made together, so they share it).
    """

    text: str
    tokens: int
    finished: bool
    seconds: float


@torch.inference_mode()
def generate(
    lm: LoadedModel,
    prompts: list[str],
    n: int = 4,
    sampling: SamplingParams = DEFAULT,
) -> list[list[Generation]]:
    """n sampled candidates for each prompt (built by engine.llm.prompt.build).

    Different candidates on every call unless `sampling.seed` is given, which makes the
    call repeatable (it seeds torch's global generator).
    """
    if not prompts:
        return []
    if n < 1 or sampling.max_new_tokens < 1:
        raise ValueError("n and max_new_tokens must be at least 1")
    tok = lm.tokenizer
    if sampling.seed is not None:
        torch.manual_seed(sampling.seed)
    batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    batch = batch.to(lm.device)
    ends = end_ids(tok)
    start = time.perf_counter()
    out = lm.model.generate(
        **batch,
        do_sample=True,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=0,
        max_new_tokens=sampling.max_new_tokens,
        num_return_sequences=n,
        eos_token_id=ends,
        pad_token_id=tok.pad_token_id,
        suppress_tokens=[tok.pad_token_id],  # so trailing padding is never the model's own
        stopping_criteria=StoppingCriteriaList([BlankLine(tok, batch["input_ids"].shape[1])]),
    )
    seconds = time.perf_counter() - start
    new = out[:, batch["input_ids"].shape[1] :].cpu()
    gens = [_one(tok, row, ends, seconds) for row in new]
    return [gens[i * n : (i + 1) * n] for i in range(len(prompts))]


def _one(tok: object, row: torch.Tensor, ends: list[int], seconds: float) -> Generation:
    """Cut a row at its first end id or its padding (a blank line ended it) and decode it."""
    ids = row.tolist()
    cut = next((k for k, i in enumerate(ids) if i in ends), None)
    ended = cut is not None
    if ended:
        ids = ids[: cut + 1]
    while ids and ids[-1] == tok.pad_token_id:  # padded after a blank line (pad is suppressed)
        ids.pop()
        ended = True
    text = tok.decode(ids, skip_special_tokens=True)
    head, found, _ = text.partition(BLANK_LINE)
    if found:
        text, ended = head, True
    return Generation(text=text.strip(), tokens=len(ids), finished=ended, seconds=seconds)
