"""Tiny randomly initialised models with a small trained tokenizer, for tests and smoke runs.

Same architectures as the models we serve (Llama: SmolLM2, DeepSeek-Coder; Qwen2:
DeepSeek-R1-Distill-Qwen), so the production code paths run without a download, in
well under a second.
"""

from __future__ import annotations

from pathlib import Path

import torch

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CORPUS = [
    "an MLP with 3 inputs, one hidden layer of 5 and 2 outputs",
    "flowchart: load data, clean it, train a model, evaluate it",
    "layers: 3 5 2\ndirection: right\nshape: circle 40x40\nfill: 255 224 178",
    "line: solid arrow 60 60 60\nlabels: in | h | out",
    "steps: load data | clean data | train model | evaluate\ndirection: down",
    "shape: round rectangle 170x50\nfill: 200 230 201\nline: dashed line 30 30 30",
    "hint: layers 2 4 6 1\nhint: steps a | b | c\nsystem user assistant Write the sketch.",
]


def tokenizer(vocab_size: int = 400) -> object:
    """A byte-level BPE tokenizer trained on a few lines, with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    return fast


def model(arch: str, vocab_size: int, seed: int = 0) -> torch.nn.Module:
    """A 2-layer, 32-wide causal LM of the given architecture ("llama" or "qwen2")."""
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config  # noqa: PLC0415

    configs = {"llama": LlamaConfig, "qwen2": Qwen2Config}
    if arch not in configs:
        raise ValueError(f"unknown tiny architecture {arch!r}; use one of {sorted(configs)}")
    config = configs[arch](
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config)


def save(folder: Path, arch: str = "llama", seed: int = 0) -> Path:
    """Write a tiny model and its tokenizer to `folder` (a checkpoint `load` accepts)."""
    tok = tokenizer()
    folder = Path(folder)
    model(arch, len(tok), seed).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
