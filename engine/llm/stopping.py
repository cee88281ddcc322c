"""Where a candidate ends: the end token, a chat-turn marker, or a blank line.

- End ids: the tokenizer's end token plus the chat-turn markers of its vocabulary. An answer
  never contains a turn marker, and a model may end its turn with either: adapter v1 was
  trained where the GGUF tokenizer's end token came out as `<|im_start|>` (transformers
  5.17 on the GPU machine), so it ends its sketches with that one.
- A blank line: a sketch never has one, so what follows is chatter. transformers' own
  `stop_strings` also match across the prompt (ours ends in a newline, so one generated
  newline would stop it); BlankLine looks at the generated tokens only.
"""

from __future__ import annotations

import torch
from transformers import StoppingCriteria

BLANK_LINE = "\n\n"
TURN_MARKERS = ("<|im_end|>", "<|im_start|>", "<|eot_id|>", "<|EOT|>")


def end_ids(tokenizer: object) -> list[int]:
    """Token ids that end an answer: the end token and any chat-turn marker (never the pad)."""
    # Looked up one by one: get_vocab() copies the whole vocabulary (~35 ms for SmolLM2's
    # 49k on the H200 host, once per batch in fast.texts: 9% of a batch's model time).
    ids = [tokenizer.eos_token_id]
    for marker in TURN_MARKERS:
        i = tokenizer.convert_tokens_to_ids(marker)
        if isinstance(i, int) and tokenizer.convert_ids_to_tokens(i) == marker:  # not unk
            ids.append(i)
    return [i for i in dict.fromkeys(ids) if i != tokenizer.pad_token_id]


class BlankLine(StoppingCriteria):
    """True for each row whose generated text (from `start` on) has a blank line."""

    def __init__(self, tokenizer: object, start: int, window: int = 3) -> None:
        self.tokenizer, self.start, self.window = tokenizer, start, window

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs) -> torch.Tensor:
        tails = input_ids[:, max(self.start, input_ids.shape[1] - self.window) :].tolist()
        found = [BLANK_LINE in text for text in self.tokenizer.batch_decode(tails)]
        return torch.tensor(found, dtype=torch.bool, device=input_ids.device)
