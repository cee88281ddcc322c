"""The prompt: the person's request, plus what the spec extractor found, in a chat turn.

Short and learnable: a one-line system turn, the request as the user turn, and when
`extract_spec` found a structure a `hint:` line stating it in the sketch's own words
(`hint: layers 2 4 6 1`, `hint: steps load data | clean | train`). A small model reads
paraphrases and number words badly; copying a hint it can learn. The answer is the sketch
followed by the tokenizer's end token, which training keeps in the labels so that the model
learns where its answer ends.
"""

from __future__ import annotations

from engine.diagram.model import Spec

SYSTEM = "Write the diagram sketch."


def hint(spec: Spec | None) -> str:
    """The hint line for a spec ('' when there is none)."""
    if spec is None:
        return ""
    if spec.kind == "network" and spec.layers:
        return "hint: layers " + " ".join(map(str, spec.layers))
    if spec.steps:  # flows, and the stacks, data flows and catalogue entries drawn as steps
        return "hint: steps " + " | ".join(spec.steps)
    return ""


def user_turn(description: str, spec: Spec | None) -> str:
    line = hint(spec)
    return description.strip() + (f"\n{line}" if line else "")


def steps_line(spec: Spec | None) -> str:
    """The sketch's first line as the model writes it after copying a steps hint ('' when
    the spec states no steps): the answer's start where the caller already knows it."""
    return f"steps: {' | '.join(spec.steps)}\n" if spec is not None and spec.steps else ""


def build(tokenizer: object, description: str, spec: Spec | None) -> str:
    """The full prompt text, ending where the model's answer starts.

    It carries its own special tokens: encode it with add_special_tokens=False. The caller
    may append the answer's first line (steps_line) for the model to go on from.
    """
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": user_turn(description, spec)},
    ]
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{tokenizer.bos_token or ''}{SYSTEM}\n\n{messages[1]['content']}\n\nSketch:\n"


def answer(tokenizer: object, sketch: str) -> str:
    """The training target: the sketch and the end token."""
    return sketch.strip() + tokenizer.eos_token
