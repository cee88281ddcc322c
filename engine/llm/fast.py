"""The fast decode path: `generate` with the plain path's signature, minus its per-step costs.

On the GPU, transformers' `generate()` spends ~40 ms a step launching kernels against ~3 ms of
work (docs/notes-latency.md). This path keeps the plain path's contract (same arguments, same
`Generation`s, same logits processing) and removes that cost:

- a small Llama/Qwen2 decoder over the model's own weights (a LoRA adapter merged in; q/k/v
  and gate/up fused into one matrix each) writes one token per row per step into a static
  KV cache;
- each distinct prompt is prefilled once and its cache copied to its n candidates;
- every candidate of every prompt decodes in one batch; a finished row gets the pad token, and
  once half of the batch has finished the live rows move to a smaller one (on CUDA the next
  bucket of 1, 2, 4, ...);
- on CUDA, one decode step per bucket is captured as a CUDA graph and replayed: one launch a
  step instead of ~700. On the CPU the same loop runs eagerly (the weights dominate there).
  The graph also holds what follows the step (sampling, the token's write, the stop check:
  `Decoder.advance`, ~30 small kernels that the eager loop launches one by one); the host
  replays it and looks for finished rows every CUDA_CHECK_EVERY steps (FUSED off: the eager
  loop after a step-only graph, for comparison).

- on the CPU, every linear layer (the head too) runs as an int8 matrix product (fbgemm or
  oneDNN; weights quantized per output channel, activations per call, the down projection's
  input outliers smoothed into its weights first): a quarter of float32's bytes and ~4x
  faster per step (docs/notes-latency.md, "CPU int8").

Sampling repeats the plain path's processing exactly (pad suppressed, temperature, top-p); a
temperature of 0 means greedy. A model this path does not cover (another architecture,
quantized or DoRA weights, dynamic RoPE) raises `Unsupported`, and only that falls back to the
plain path, counted in `fallbacks`; any other error is a bug and raises.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.llm import generate as plain
from engine.llm import prompt
from engine.llm.generate import Generation
from engine.llm.load import LoadedModel
from engine.llm.sampling import DEFAULT, SamplingParams
from engine.llm.stopping import BLANK_LINE, end_ids

log = logging.getLogger(__name__)
ARCHITECTURES = ("llama", "qwen2")
CUDA_LENGTH_STEP = 256  # cache length rounding on CUDA, so graphs serve many calls
CPU_LENGTH_STEP = 32
CUDA_CHECK_EVERY = 4  # steps between host syncs that look for finished rows
GRAPHS = True  # capture decode steps as CUDA graphs (off: eager steps, for comparison)
# On CUDA with graphs, each step's graph also holds the sampling and the stop bookkeeping (off:
# those ~30 small kernels are launched eagerly after each replay, as before).
FUSED = False  # off by default: it saved 1% a step on the H200 (docs/notes-engine.md)
CPU_INT8 = True  # int8 linear layers on the CPU (off: float weights, the plain path's numbers)


class Unsupported(ValueError):
    """The model is outside what the fast path implements: use the plain path."""


class Linear:
    """y = x W^T + b with the weight as it is (float or bf16)."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        self.weight, self.bias = weight, bias
        self.nbytes = weight.numel() * weight.element_size()

    def __call__(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


ONEDNN_FROM = 8192  # output features from which oneDNN's int8 kernels beat fbgemm's


@contextmanager
def _quantized_engine(name: str) -> Iterator[None]:
    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


class Int8Linear:
    """y = x W^T + b through an int8 GEMM: W quantized per output channel once, x per call
    (float32 in and out); ~4x faster than float32 on 2 cores (notes-latency). fbgemm's kernel
    for most layers; oneDNN's for the vocabulary head, where it measured 3.8 ms a step against
    8.9 (AMX) and packs in 0.24 s against 0.69."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        w = weight.detach().float()
        scale = (w.abs().amax(1) / 127).clamp_min(1e-12).double()
        zero = torch.zeros(w.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # quantized tensors are deprecated; the kernel is not
            warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
            q = torch.quantize_per_channel(w, scale, zero, 0, torch.qint8)
        self._pack(q, None if bias is None else bias.detach().float())

    @classmethod
    def of_int8(cls, values: Tensor, scales: Tensor, bias: Tensor | None) -> Int8Linear:
        """The layer `parts()` describes: int8 weights and per-row scales, packed again
        (packed weights depend on the CPU's instructions, so the cache keeps them unpacked)."""
        zero = torch.zeros(values.shape[0], dtype=torch.long)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
            q = torch._make_per_channel_quantized_tensor(values, scales, zero, 0)
        layer = cls.__new__(cls)
        layer._pack(q, bias)
        return layer

    def _pack(self, q: Tensor, bias: Tensor | None) -> None:
        wide = q.shape[0] >= ONEDNN_FROM and "onednn" in torch.backends.quantized.supported_engines
        with _quantized_engine("onednn" if wide else torch.backends.quantized.engine):
            self.packed = torch.ops.quantized.linear_prepack(q, bias)
        self.nbytes = q.numel() + (0 if bias is None else 4 * bias.numel())

    def parts(self) -> dict[str, Tensor | None]:
        """int8 weights, their per-row scales and the bias, as packed (for of_int8)."""
        q, bias = torch.ops.quantized.linear_unpack(self.packed)  # the packing knows its kernel
        return {"int8": q.int_repr(), "scales": q.q_per_channel_scales(), "bias": bias}

    def __call__(self, x: Tensor) -> Tensor:
        return torch.ops.quantized.linear_dynamic(x, self.packed, False)


def _linear_parts(linear: Linear | Int8Linear) -> dict[str, Tensor | None]:
    if isinstance(linear, Int8Linear):
        return linear.parts()
    return {"weight": linear.weight.detach(), "bias": linear.bias}


def _linear_of(parts: dict[str, Tensor | None]) -> Linear | Int8Linear:
    if "int8" in parts:
        return Int8Linear.of_int8(parts["int8"], parts["scales"], parts["bias"])
    return Linear(parts["weight"], parts["bias"])


def int8_available() -> bool:
    """Whether this torch has the fbgemm int8 kernels (x86 builds do; the check, not a try,
    decides, so a broken kernel raises instead of silently using floats)."""
    engines = torch.backends.quantized.supported_engines
    return hasattr(torch.ops.quantized, "linear_dynamic") and bool({"fbgemm", "x86"} & set(engines))


@dataclass
class Layer:
    norm1: nn.Module | Norm
    norm2: nn.Module | Norm
    qkv: Linear | Int8Linear
    o: Linear | Int8Linear
    gate_up: Linear | Int8Linear
    down: Linear | Int8Linear


@dataclass
class Decoded:
    """Token ids of every candidate (row = prompt * n + candidate), pad after the end."""

    ids: Tensor  # [rows, max_new_tokens], on the CPU
    prefill_s: float
    decode_s: float
    steps: int


# ----------------------------------------------------------------------------- weights


def _weight(module: nn.Module, adapter: str | None) -> tuple[Tensor, Tensor | None]:
    """A linear or embedding module's effective weight and bias, a LoRA adapter merged in."""
    base = getattr(module, "base_layer", None)
    if base is None:
        if type(module) not in (nn.Linear, nn.Embedding):
            raise Unsupported(f"{type(module).__name__} weights")
        return module.weight, getattr(module, "bias", None)
    if type(base) not in (nn.Linear, nn.Embedding) or getattr(module, "merged", False):
        raise Unsupported(f"adapter layer over {type(base).__name__}")
    weight = base.weight
    tuned = (getattr(module, "lora_A", {}), getattr(module, "lora_embedding_A", {}))
    if adapter is not None and any(adapter in part for part in tuned):
        if getattr(module, "use_dora", {}).get(adapter):
            raise Unsupported("DoRA adapters")
        weight = weight + module.get_delta_weight(adapter).to(weight.dtype)
    return weight, getattr(base, "bias", None)


def _fuse(parts: list[tuple[Tensor, Tensor | None]]) -> tuple[Tensor, Tensor | None]:
    """Stack linear layers that read the same input into one matrix (one kernel, not three)."""
    weight = torch.cat([w for w, _ in parts]).contiguous()
    if all(b is None for _, b in parts):
        return weight, None
    bias = [b if b is not None else w.new_zeros(w.shape[0]) for w, b in parts]
    return weight, torch.cat(bias)


def _check(model: nn.Module) -> None:
    config = model.config
    if config.model_type not in ARCHITECTURES:
        raise Unsupported(f"architecture {config.model_type!r}")
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    if "dynamic" in str(rope.get("rope_type", rope.get("type", ""))):
        raise Unsupported("dynamic RoPE")
    if getattr(config, "use_sliding_window", False):
        raise Unsupported("sliding-window attention")


# A request and a sketch the default model writes for it: text to measure activations on.
CALIBRATION = (
    "an MLP with 3 inputs, two hidden layers of 5 and 2 outputs",
    "layers: 3 5 5 2\ndirection: right\nshape: circle 39x39\nfill: 255 255 255\n"
    "line: solid arrow 0 0 0",
)


def calibration_ids(tok: object) -> Tensor:
    text = prompt.build(tok, CALIBRATION[0], None) + CALIBRATION[1]
    return tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"][0]


def _down_input_peaks(model: nn.Module, ids: Tensor) -> list[Tensor]:
    """Per layer, the largest |input| of each channel of the MLP's down projection, with the
    active adapter, over the calibration text."""
    peaks: list[Tensor] = []

    def keep(_module: nn.Module, args: tuple[Tensor, ...]) -> None:
        peaks.append(args[0].detach().abs().amax(dim=(0, 1)).float())

    hooks = [layer.mlp.down_proj.register_forward_pre_hook(keep) for layer in model.model.layers]
    try:
        with torch.inference_mode():
            model(input_ids=ids[None].to(model.device), use_cache=False)
    finally:
        for hook in hooks:
            hook.remove()
    return peaks


def _smooth(
    gate_up: tuple[Tensor, Tensor | None], down: tuple[Tensor, Tensor | None], peak: Tensor
) -> tuple[tuple[Tensor, Tensor | None], tuple[Tensor, Tensor | None]]:
    """Move the down projection's input outliers into its weights (SmoothQuant, alpha 0.5).

    Its input is silu(gate) * up, so dividing up's row j by s_j divides input channel j by
    s_j, and multiplying down's column j by s_j undoes it: the same function, with inputs
    that quantize per tensor without the few huge channels drowning the rest.
    """
    (gu, gu_bias), (w, bias) = gate_up, down
    s = (peak.clamp_min(1e-5) / w.detach().abs().amax(0).float().clamp_min(1e-5)).sqrt()
    half = gu.shape[0] // 2
    scale = torch.cat([s.new_ones(half), 1 / s])
    gu = gu.detach() * scale[:, None].to(gu.dtype)
    gu_bias = None if gu_bias is None else gu_bias.detach() * scale.to(gu_bias.dtype)
    return (gu, gu_bias), (w.detach() * s.to(w.dtype), bias)


# ----------------------------------------------------------------------------- the decoder


@dataclass
class Norm:
    """An RMSNorm's weight and epsilon: all `_rms` reads of transformers' module."""

    weight: Tensor
    variance_epsilon: float


class RopeTable:
    """cos and sin of positions 0..N-1, called as transformers' rotary module is.

    Each entry is one position times one frequency (an outer product), so a table computed
    once holds exactly what the module computes for any prefix of positions.
    """

    def __init__(self, cos: Tensor, sin: Tensor) -> None:
        self.cos, self.sin = cos, sin

    def __call__(self, x: Tensor, position_ids: Tensor) -> tuple[Tensor, Tensor]:
        if int(position_ids.max()) >= len(self.cos):
            raise ValueError(f"positions past the {len(self.cos)} the rotary table holds")
        return self.cos[position_ids].to(x.dtype), self.sin[position_ids].to(x.dtype)


LINEARS = ("qkv", "o", "gate_up", "down")  # a Layer's linear layers, in its field order


def _norm_parts(norm: nn.Module | Norm) -> dict:
    return {"weight": norm.weight.detach(), "variance_epsilon": float(norm.variance_epsilon)}


def _rms(norm: nn.Module | Norm, x: Tensor) -> Tensor:
    """RMSNorm exactly as transformers' Llama/Qwen2 compute it (float32 inside)."""
    dtype = x.dtype
    x = x.float()
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon)
    return norm.weight * x.to(dtype)


def _rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Decoder:
    """Merged weights, a static KV cache and, on CUDA, one captured graph per batch bucket.

    Not re-entrant: one call at a time (the engine runs the model on one thread; a lock
    guards anyway). int8: int8 linear layers (CPU only).
    """

    def __init__(
        self,
        model: nn.Module,
        adapter: str | None,
        graphs: bool = True,
        calibration: Tensor | None = None,
    ) -> None:
        """calibration: token ids to measure activations on, for int8 layers (CPU only)."""
        _check(model)
        self.int8 = calibration is not None
        if self.int8 and (model.device.type != "cpu" or not int8_available()):
            raise ValueError("int8 layers need the CPU and torch's fbgemm kernels")
        peaks = _down_input_peaks(model, calibration) if self.int8 else None
        config, inner = model.config, model.model
        self.device, self.dtype = model.device, model.dtype
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.scale = self.head_dim**-0.5
        self.act = inner.layers[0].mlp.act_fn
        self.rotary = inner.rotary_emb
        self.embed = _weight(inner.embed_tokens, adapter)[0]
        self.head = self._linear(_weight(model.lm_head, adapter))
        self.norm = inner.norm
        self.layers = [
            self._layer(layer, adapter, peaks[i] if peaks else None)
            for i, layer in enumerate(inner.layers)
        ]
        self.positions_max = config.max_position_embeddings
        self._ready(graphs)

    def _ready(self, graphs: bool) -> None:
        """No cache yet, and graphs (CUDA only) captured on first use."""
        self.graphs_on = graphs and self.device.type == "cuda"
        self.round_rows = self.graphs_on  # batch buckets of 1, 2, 4, ... rows
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, Tensor]] = {}
        self.fused: dict[tuple, tuple[torch.cuda.CUDAGraph, Rule]] = {}
        self.rows = self.length = 0
        self.lock = threading.Lock()

    def parts(self) -> dict:
        """Everything a CPU decoder computes with, as tensors and numbers (engine/llm/cache.py
        saves them): `Decoder.restore(d.parts())` decodes exactly as d does, with no model."""
        if self.device.type != "cpu":
            raise Unsupported(f"saving a decoder on {self.device.type}")
        if type(self.act).__name__ not in ("SiLU", "SiLUActivation"):
            raise Unsupported(f"saving the activation {type(self.act).__name__}")
        positions = torch.arange(self.positions_max)[None]
        cos, sin = self.rotary(torch.zeros(1, dtype=torch.float32), positions)
        return {
            "int8": self.int8,
            "dtype": str(self.dtype).removeprefix("torch."),
            "heads": self.heads,
            "kv_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "rope": (cos[0], sin[0]),
            "embed": self.embed.detach(),
            "head": _linear_parts(self.head),
            "norm": _norm_parts(self.norm),
            "layers": [
                {
                    "norm1": _norm_parts(layer.norm1),
                    "norm2": _norm_parts(layer.norm2),
                    **{k: _linear_parts(getattr(layer, k)) for k in LINEARS},
                }
                for layer in self.layers
            ],
        }

    @classmethod
    def restore(cls, parts: dict) -> Decoder:
        """A CPU decoder from `parts()`: the int8 layers packed again, no model needed."""
        dec = cls.__new__(cls)
        dec.device, dec.dtype = torch.device("cpu"), getattr(torch, parts["dtype"])
        dec.int8 = parts["int8"]
        dec.heads, dec.kv_heads, dec.head_dim = parts["heads"], parts["kv_heads"], parts["head_dim"]
        dec.scale = dec.head_dim**-0.5
        dec.act = F.silu  # what SiLU modules compute (parts() saves no other activation)
        dec.rotary = RopeTable(*parts["rope"])
        dec.positions_max = len(parts["rope"][0])
        dec.embed = parts["embed"]
        dec.head = _linear_of(parts["head"])
        dec.norm = Norm(**parts["norm"])
        dec.layers = [
            Layer(
                Norm(**layer["norm1"]),
                Norm(**layer["norm2"]),
                *(_linear_of(layer[k]) for k in LINEARS),
            )
            for layer in parts["layers"]
        ]
        dec._ready(graphs=False)
        return dec

    def _linear(self, weight_bias: tuple[Tensor, Tensor | None]) -> Linear | Int8Linear:
        return (Int8Linear if self.int8 else Linear)(*weight_bias)

    def _layer(self, layer: nn.Module, adapter: str | None, peak: Tensor | None) -> Layer:
        """peak (int8 only): the down projection's input peaks, smoothed away before
        quantizing; without it adapter v1 dropped a repeated layer ('2 11 11 11 2' ->
        '2 11 11 2') in 4 of 24 requests (docs/notes-latency.md, "CPU int8")."""
        att, mlp = layer.self_attn, layer.mlp
        qkv = _fuse([_weight(m, adapter) for m in (att.q_proj, att.k_proj, att.v_proj)])
        gate_up = _fuse([_weight(m, adapter) for m in (mlp.gate_proj, mlp.up_proj)])
        o, down = _weight(att.o_proj, adapter), _weight(mlp.down_proj, adapter)
        if peak is not None:
            gate_up, down = _smooth(gate_up, down, peak)
        norms = (layer.input_layernorm, layer.post_attention_layernorm)
        return Layer(*norms, *map(self._linear, (qkv, o, gate_up, down)))

    @property
    def weight_bytes(self) -> int:
        """Bytes of weights one decode step reads (the layers and the head)."""
        linears = [
            m for layer in self.layers for m in (layer.qkv, layer.o, layer.gate_up, layer.down)
        ]
        return sum(m.nbytes for m in [*linears, self.head])

    @property
    def groups(self) -> int:
        return self.heads // self.kv_heads

    def bucket(self, rows: int) -> int:
        """Rows padded to a power of two on CUDA (so a few graphs serve every batch)."""
        return 1 << (rows - 1).bit_length() if self.round_rows else rows

    def reserve(self, rows: int, length: int) -> None:
        """A cache of at least `rows` x `length`; growing it drops the captured graphs."""
        step = CUDA_LENGTH_STEP if self.device.type == "cuda" else CPU_LENGTH_STEP
        length = -(-length // step) * step
        rows = self.bucket(rows)
        if rows <= self.rows and length <= self.length:
            return
        rows, length = max(rows, self.rows), max(length, self.length)
        shape = (len(self.layers), rows, self.kv_heads, length, self.head_dim)
        self.graphs.clear()
        self.fused.clear()
        self.k = self.v = None  # free the old cache before the new one is allocated
        self.k = torch.zeros(shape, dtype=self.dtype, device=self.device)
        self.v = torch.zeros(shape, dtype=self.dtype, device=self.device)
        positions = torch.arange(length, device=self.device)
        cos, sin = self.rotary(self.k[0, :1], positions[None])
        self.cos, self.sin, self.positions = cos[0], sin[0], positions
        self.ids = torch.zeros(rows, dtype=torch.long, device=self.device)
        self.pad = torch.zeros(rows, dtype=torch.long, device=self.device)
        self.slot = torch.zeros(1, dtype=torch.long, device=self.device)
        self._loop_buffers(rows, length)
        self.rows, self.length = rows, length

    def _loop_buffers(self, rows: int, length: int) -> None:
        """The fused loop's state, at fixed addresses so that captured graphs can hold it."""
        dev = self.device
        self.out = torch.zeros(rows + 1, length, dtype=torch.long, device=dev)  # +1: filler rows'
        self.row_of = torch.zeros(rows, dtype=torch.long, device=dev)  # bucket position -> row
        self.done = torch.zeros(rows, dtype=torch.bool, device=dev)
        self.after_nl = torch.zeros(rows, dtype=torch.bool, device=dev)
        self.column = torch.zeros(1, dtype=torch.long, device=dev)  # out's column for the token

    def _logits(self, x: Tensor) -> Tensor:
        return self.head(_rms(self.norm, x)).float()

    def _mlp(self, layer: Layer, x: Tensor) -> Tensor:
        gate, up = layer.gate_up(_rms(layer.norm2, x)).chunk(2, -1)
        return layer.down(self.act(gate) * up)

    def _qkv(self, layer: Layer, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q [B, H, T, D], k and v [B, KV, T, D] of the normed input x [B, T, hidden]."""
        b, t, _ = x.shape
        d = self.head_dim
        qkv = layer.qkv(_rms(layer.norm1, x))
        q, k, v = qkv.split([self.heads * d, self.kv_heads * d, self.kv_heads * d], dim=-1)
        q = q.view(b, t, self.heads, d).transpose(1, 2)
        k = k.view(b, t, self.kv_heads, d).transpose(1, 2)
        return q, k, v.view(b, t, self.kv_heads, d).transpose(1, 2)

    def prefill(self, ids: Tensor, mask: Tensor, n: int) -> Tensor:
        """Run the left-padded prompts [P, T] once; cache rows p*n..p*n+n-1 get prompt p.

        Returns float32 logits of the last position, one row per candidate [P*n, vocab].
        """
        p, t = ids.shape
        rows = p * n
        real = mask.bool()
        cos = self.cos[(mask.cumsum(-1) - 1).clamp_min(0)][:, None]  # [P, 1, T, D]
        sin = self.sin[(mask.cumsum(-1) - 1).clamp_min(0)][:, None]
        causal = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
        # A padding query sees itself, so that no row is fully masked (NaN would spread).
        eye = torch.eye(t, dtype=torch.bool, device=ids.device)
        attend = causal & (real[:, None, None, :] | eye)
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x)
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
            self.k[i, :rows, :, :t] = k.repeat_interleave(n, 0)
            self.v[i, :rows, :, :t] = v.repeat_interleave(n, 0)
            k, v = k.repeat_interleave(self.groups, 1), v.repeat_interleave(self.groups, 1)
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=attend, scale=self.scale)
            x = x + layer.o(o.transpose(1, 2).reshape(p, t, -1))
            x = x + self._mlp(layer, x)
        self.pad[:rows] = (~real).sum(-1).repeat_interleave(n)
        self.pad[rows:] = 0  # filler rows attend to something, so no NaN enters the cache
        return self._logits(x[:, -1]).repeat_interleave(n, 0)

    def _step(self, b: int, keys: int | None = None) -> Tensor:
        """One token for rows 0..b-1: ids[:b] at cache position `slot`, attending to the
        first `keys` cache positions (all of them when None: then graph-capturable)."""
        ids, pad, slot = self.ids[:b], self.pad[:b], self.slot
        keys = keys or self.length
        position, positions = slot - pad, self.positions[:keys]
        cos, sin = self.cos[position][:, None, None], self.sin[position][:, None, None]
        seen = (positions >= pad[:, None]) & (positions <= slot)
        mask = seen[:, None, None, :]  # [b, 1, 1, keys]
        x = F.embedding(ids, self.embed)[:, None]  # [b, 1, hidden]
        for i, layer in enumerate(self.layers):
            q, k, v = self._qkv(layer, x)
            q, k = _rope(q, cos, sin), _rope(k, cos, sin)
            cache_k, cache_v = self.k[i, :b, :, :keys], self.v[i, :b, :, :keys]
            cache_k.index_copy_(2, slot, k)
            cache_v.index_copy_(2, slot, v)
            # The G query heads that share a kv head become G query positions of it.
            q = q.reshape(b, self.kv_heads, self.groups, self.head_dim)
            o = F.scaled_dot_product_attention(
                q, cache_k, cache_v, attn_mask=mask, scale=self.scale
            )
            x = x + layer.o(o.reshape(b, 1, -1))
            x = x + self._mlp(layer, x)
        return self._logits(x[:, 0])

    def step(self, b: int, keys: int | None = None) -> Tensor:
        """Float32 logits [b, vocab] of one decode step (a graph replay on CUDA). Eager steps
        attend to the first `keys` positions only (on the CPU attention over the whole cache
        costs as much as half the layers' matrix products)."""
        if not self.graphs_on:
            return self._step(b, keys)
        if b not in self.graphs:
            self.graphs[b] = self._capture(b)
        graph, logits = self.graphs[b]
        graph.replay()
        return logits

    def _capture(self, b: int) -> tuple[torch.cuda.CUDAGraph, Tensor]:
        """Capture one step; the warm-up writes the same cache entries the replay will."""
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._step(b)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: a GPU training job on another thread may not break the capture.
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            logits = self._step(b)
        return graph, logits

    def advance(self, logits: Tensor, b: int, rule: Rule) -> None:
        """Pick rows 0..b-1's next token from `logits` and record it in the loop's buffers:
        the eager loop's sample, pad for done rows, output write and stop check, in place and
        without a host sync or a data-dependent shape, so that a graph can hold it."""
        chosen = sample(
            logits, temperature=rule.temperature, top_p=rule.top_p, suppress=rule.suppress
        )
        done = self.done[:b]
        token = torch.where(done, rule.ends.pad, chosen)
        self.out.index_put_((self.row_of[:b], self.column), token)
        if rule.stop:
            ended, now_nl = rule.ends.ended(token, self.after_nl[:b])
            done |= ended
            self.after_nl[:b] = now_nl
        self.ids[:b] = token
        self.slot += 1
        self.column += 1

    def fused_step(self, b: int, rule: Rule, keys: int | None = None) -> None:
        """One decode step, then `advance` on its logits: one graph replay on CUDA."""
        if not self.graphs_on:
            self.advance(self._step(b, keys), b, rule)
            return
        key = (b, rule.temperature, rule.top_p, rule.stop)
        if key not in self.fused:
            # The rule is kept with its graph: the graph reads its tensors' memory.
            self.fused[key] = (self._capture_fused(b, rule), rule)
        self.fused[key][0].replay()

    def _loop_state(self) -> list[Tensor]:
        return [self.ids, self.slot, self.out, self.done, self.after_nl, self.column]

    def _capture_fused(self, b: int, rule: Rule) -> torch.cuda.CUDAGraph:
        """Capture step + advance. The warm-up runs change the loop's state and draw random
        numbers, so both are put back: the first replay then does exactly what an eager
        step would, and a seeded call draws what the eager loop draws."""
        saved = [t.clone() for t in self._loop_state()]
        rng = torch.cuda.get_rng_state(self.device)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self.advance(self._step(b), b, rule)
                for now, before in zip(self._loop_state(), saved, strict=True):
                    now.copy_(before)
        torch.cuda.current_stream().wait_stream(stream)
        torch.cuda.set_rng_state(rng, self.device)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            self.advance(self._step(b), b, rule)
        return graph

    def compact_loop(self, live: Tensor, b: int, pad_token: int) -> None:
        """`compact`, and the fused loop's buffers with it: positions len(live)..b-1 become
        filler rows (done, the pad token, writing to out's spare last row)."""
        m = len(live)
        self.compact(live, b)
        for buf, filler in ((self.ids, pad_token), (self.row_of, self.rows), (self.after_nl, 0)):
            buf[:m] = buf[live]  # indexing copies first, so no row is read after its write
            buf[m:b] = filler
        self.done[:b] = torch.arange(b, device=self.device) >= m

    def compact(self, live: Tensor, b: int) -> None:
        """Move rows `live` to the front of the cache and the inputs (ids already set)."""
        m = len(live)
        self.k[:, :m] = self.k[:, live]
        self.v[:, :m] = self.v[:, live]
        self.pad[:m] = self.pad[live].clone()
        self.pad[m:b] = 0  # filler rows attend to something, so no NaN enters the cache


# ----------------------------------------------------------------------------- sampling


def process(logits: Tensor, *, temperature: float, top_p: float, suppress: Tensor) -> Tensor:
    """The plain path's logits processing: suppress tokens, then temperature, then top-p.

    Written out as transformers' SuppressTokens, Temperature and TopP processors do it, so the
    two paths sample from the same distribution.
    """
    scores = _tempered(logits, temperature, suppress)
    if temperature <= 0 or top_p >= 1.0:
        return scores
    return _top_p(scores, top_p)


def _tempered(logits: Tensor, temperature: float, suppress: Tensor) -> Tensor:
    """Suppressed tokens at -inf, then divided by the temperature (none at 0 or 1)."""
    scores = logits.index_fill(1, suppress, -float("inf"))
    return scores / temperature if temperature > 0 and temperature != 1.0 else scores


def _top_p(scores: Tensor, top_p: float) -> Tensor:
    """transformers' TopP: the tokens whose ascending cumulative mass is <= 1 - top_p at -inf."""
    ordered, order = torch.sort(scores, descending=False)
    remove = ordered.softmax(-1).cumsum(-1) <= 1 - top_p
    remove[..., -1:] = False
    return scores.masked_fill(remove.scatter(1, order, remove), -float("inf"))


def choose(scores: Tensor, temperature: float) -> Tensor:
    """One token a row: greedy at temperature 0, else sampled from softmax(scores).

    Sampling is argmax(p / E) with E ~ Exp(1), which picks token i with probability p_i (as
    torch.multinomial does) without a host sync and in a form CUDA graphs could hold.
    """
    if temperature <= 0:
        return scores.argmax(-1)
    probs = scores.softmax(-1)
    noise = torch.empty_like(probs).exponential_().clamp_min_(torch.finfo(probs.dtype).tiny)
    return (probs / noise).argmax(-1)


NUCLEUS_K = 64  # tokens the CPU's top-p looks at before it sorts the whole vocabulary


def _nucleus(scores: Tensor, top_p: float) -> Tensor | None:
    """A top-p sample from the `NUCLEUS_K` best tokens, or None when the nucleus may be wider.

    On the CPU, sorting 4 rows of a 49k vocabulary takes ~30 ms and drawing 49k exponentials
    a row ~9 ms, more than the model's step. A token is kept iff the mass ranked strictly
    above it is < top_p (transformers' TopP removes it iff the ascending cumulative mass is
    <= 1 - top_p: the same set). When the k-th token is removed the nucleus lies inside the
    top k, and the exponential race over the kept tokens draws from the same distribution.
    """
    values, index = scores.topk(min(NUCLEUS_K, scores.shape[-1]))
    probs = (values - scores.logsumexp(-1, keepdim=True)).exp()
    keep = probs.cumsum(-1) - probs < top_p
    if keep[:, -1].any():
        return None
    keep[:, 0] = True
    noise = torch.empty_like(probs).exponential_().clamp_min_(torch.finfo(probs.dtype).tiny)
    pick = (probs.masked_fill(~keep, 0) / noise).argmax(-1)
    return index.gather(1, pick[:, None])[:, 0]


def sample(logits: Tensor, *, temperature: float, top_p: float, suppress: Tensor) -> Tensor:
    """One token a row: `choose(process(...))`; on the CPU top-p first tries `_nucleus`
    (a CUDA step would have to wait for its check, and sorting is cheap there)."""
    if temperature > 0 and top_p < 1 and logits.device.type == "cpu":
        scores = _tempered(logits, temperature, suppress)
        token = _nucleus(scores, top_p)
        return token if token is not None else choose(_top_p(scores, top_p), temperature)
    scores = process(logits, temperature=temperature, top_p=top_p, suppress=suppress)
    return choose(scores, temperature)


def token_texts(tok: object, count: int) -> list[str]:
    """Each of the first `count` tokens decoded alone, as `tok.batch_decode` does it; through
    the Rust tokenizer's own batch where nothing differs (10x faster: 0.04 s for 49k tokens,
    paid by every `diagrammer draw`)."""
    ids = [[i] for i in range(count)]
    rust = getattr(tok, "backend_tokenizer", None)
    if rust is None or getattr(tok, "clean_up_tokenization_spaces", True):
        return tok.batch_decode(ids)
    return rust.decode_batch(ids, skip_special_tokens=False)


@dataclass
class Stops:
    """Per-token facts that find the end of a sketch on the device, with no decoding.

    A blank line is a token holding one, or a token starting with a newline after text ending
    in one (tokens that decode to nothing keep the previous state).
    """

    is_end: Tensor  # end token or chat-turn marker, as the plain path (stopping.end_ids)
    pad: int
    has_blank: Tensor
    starts_nl: Tensor
    ends_nl: Tensor
    empty: Tensor

    @classmethod
    def of(cls, tok: object, vocab: int, device: torch.device) -> Stops:
        known = min(vocab, len(tok))
        texts = token_texts(tok, known) + [""] * (vocab - known)

        def table(test: object) -> Tensor:
            return torch.tensor([test(s) for s in texts], dtype=torch.bool, device=device)

        ends = torch.zeros(vocab, dtype=torch.bool, device=device)
        ends[[i for i in end_ids(tok) if i < vocab]] = True
        return cls(
            is_end=ends,
            pad=tok.pad_token_id,
            has_blank=table(lambda s: BLANK_LINE in s),
            starts_nl=table(lambda s: s.startswith("\n")),
            ends_nl=table(lambda s: s.endswith("\n")),
            empty=table(lambda s: s == ""),
        )

    def ended(self, token: Tensor, after_nl: Tensor) -> tuple[Tensor, Tensor]:
        """(this token ends the row, the text now ends in a newline)."""
        blank = self.has_blank[token] | (after_nl & self.starts_nl[token])
        now_nl = torch.where(self.empty[token], after_nl, self.ends_nl[token])
        return blank | self.is_end[token], now_nl


@dataclass(frozen=True, eq=False)
class Rule:
    """How one decode call picks and records each token (a graph captured for it holds these
    numbers and reads these tensors)."""

    temperature: float
    top_p: float
    stop: bool  # rows end at an end token or a blank line (off: every row runs to the budget)
    ends: Stops
    suppress: Tensor  # token ids never sampled: the pad


# ----------------------------------------------------------------------------- the loop

_decoders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_stops: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class Prebuilt(nn.Module):
    """The `model` of a LoadedModel whose decoder was made earlier (engine/llm/cache.py): the
    fast path needs only the decoder and the stop tables, so no transformers model is built.

    It holds one adapter's decoder: the plain path and switching adapters need the real model.
    """

    prebuilt = True  # LoadedModel.use_adapter refuses to switch it

    def __init__(self, dec: Decoder, ends: Stops, adapter: str | None) -> None:
        super().__init__()
        self.decoder, self.stops, self.adapter = dec, ends, adapter

    @property
    def device(self) -> torch.device:
        return self.decoder.device

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder.dtype

    def decoder_for(self, adapter: str | None, graphs: bool, int8: bool) -> Decoder:
        """Its decoder, when that is what was asked for (graphs do not apply to the CPU)."""
        if adapter != self.adapter or int8 != self.decoder.int8:
            raise ValueError(
                f"this model holds only the decoder of adapter {self.adapter} "
                f"(int8 {self.decoder.int8}); load the model itself for another"
            )
        return self.decoder


def base_model(lm: LoadedModel) -> nn.Module:
    model = lm.model
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decoder(lm: LoadedModel, graphs: bool | None = None, int8: bool | None = None) -> Decoder:
    """The decoder for the model's current adapter, built once and kept while it is active.

    int8 (default CPU_INT8): int8 linear layers, on the CPU and where torch has the kernels.
    """
    model = base_model(lm)
    graphs = GRAPHS if graphs is None else graphs
    int8 = CPU_INT8 if int8 is None else int8
    int8 = int8 and model.device.type == "cpu" and int8_available()
    if isinstance(model, Prebuilt):
        return model.decoder_for(lm.adapter, graphs, int8)
    where = (str(lm.adapters.get(lm.adapter, "")), model.dtype, str(model.device))
    key = (lm.adapter, *where, graphs, int8)
    with _lock:
        held = _decoders.get(model)
        if held is None or held[0] != key:
            _decoders.pop(model, None)  # free the old one before building
            calibration = calibration_ids(lm.tokenizer) if int8 else None
            held = _decoders[model] = (key, Decoder(model, lm.adapter, graphs, calibration))
        return held[1]


def forget(lm: LoadedModel) -> None:
    """Drop the cached decoder, e.g. after the model's weights changed in place."""
    with _lock:
        _decoders.pop(base_model(lm), None)


def stops(lm: LoadedModel) -> Stops:
    model = base_model(lm)
    if isinstance(model, Prebuilt):
        return model.stops
    if model not in _stops:
        vocab = model.get_output_embeddings().weight.shape[0]
        _stops[model] = Stops.of(lm.tokenizer, vocab, model.device)
    return _stops[model]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def decode(
    lm: LoadedModel,
    prompts: list[str],
    n: int,
    *,
    temperature: float = DEFAULT.temperature,
    top_p: float = DEFAULT.top_p,
    max_new_tokens: int = DEFAULT.max_new_tokens,
    seed: int | None = None,
    stop: bool = True,
    graphs: bool | None = None,
    int8: bool | None = None,
    fused: bool | None = None,
) -> Decoded:
    """Token ids of n candidates per prompt. stop=False runs exactly max_new_tokens steps
    (for timing models that never end, such as random weights).

    fused (default: FUSED where steps are CUDA graphs, else off): sampling and stop
    bookkeeping inside each step's graph (`_fused_loop`); on the CPU it runs the same loop
    eagerly, which only tests use. Either loop gives the same tokens for the same seed."""
    tok = lm.tokenizer
    dec, ends = decoder(lm, graphs, int8), stops(lm)
    if seed is not None:
        torch.manual_seed(seed)
    batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    ids, mask = batch["input_ids"].to(dec.device), batch["attention_mask"].to(dec.device)
    rows, t = len(prompts) * n, ids.shape[1]
    suppress = torch.tensor([ends.pad], device=dec.device)
    with dec.lock:
        start = time.perf_counter()
        dec.reserve(rows, t + max_new_tokens)
        logits = dec.prefill(ids, mask, n)
        _sync(dec.device)
        prefilled = time.perf_counter()
        if (dec.graphs_on and FUSED) if fused is None else fused:
            rule = Rule(temperature, top_p, stop, ends, suppress)
            steps = _fused_loop(dec, rule, logits, rows, t, max_new_tokens)
            # A copy even on the CPU (.cpu() would return the buffer the next call overwrites).
            result = dec.out[:rows, :max_new_tokens].to("cpu", copy=True)
            return Decoded(result, prefilled - start, time.perf_counter() - prefilled, steps)
        out = torch.full((rows, max_new_tokens), ends.pad, dtype=torch.long, device=dec.device)
        b = dec.bucket(rows)
        logits = F.pad(logits, (0, 0, 0, b - rows))  # filler rows: done from the start
        where = torch.arange(rows, device=dec.device)  # bucket position -> output row
        done = torch.arange(b, device=dec.device) >= rows  # filler rows count as done
        after_nl = torch.zeros(b, dtype=torch.bool, device=dec.device)
        check = CUDA_CHECK_EVERY if dec.device.type == "cuda" else 1
        steps = 0
        for s in range(max_new_tokens):
            chosen = sample(logits, temperature=temperature, top_p=top_p, suppress=suppress)
            token = torch.where(done, ends.pad, chosen)
            out[where, s] = token[: len(where)]
            steps = s + 1
            if steps == max_new_tokens:
                break
            if stop:
                ended, after_nl = ends.ended(token, after_nl)
                done = done | ended
                if steps % check == 0:
                    live = (~done).nonzero()[:, 0]
                    if len(live) == 0:
                        break
                    if len(live) <= b // 2:  # half done or more: a smaller batch pays
                        b = dec.bucket(len(live))
                        dec.compact(live, b)
                        where, token, after_nl = where[live], token[live], after_nl[live]
                        done = torch.arange(b, device=dec.device) >= len(live)
                        token = F.pad(token, (0, b - len(live)), value=ends.pad)
                        after_nl = F.pad(after_nl, (0, b - len(live)))
            dec.ids[:b] = token
            dec.slot.fill_(t + s)
            logits = dec.step(b, t + s + 1)
        result = out.cpu()
        finished = time.perf_counter()
    return Decoded(result, prefilled - start, finished - prefilled, steps)


def _fused_loop(
    dec: Decoder, rule: Rule, logits: Tensor, rows: int, t: int, max_new_tokens: int
) -> int:
    """`decode`'s loop with the per-step work in `Decoder.advance`: the host only replays
    (on CUDA) and, every CUDA_CHECK_EVERY steps, looks for finished rows as the eager loop
    does, at the same steps. Fills dec.out; returns the steps run."""
    b, pad = dec.bucket(rows), rule.ends.pad
    positions = torch.arange(b, device=dec.device)
    dec.out.fill_(pad)
    dec.row_of[:b] = positions
    dec.row_of[rows:b] = dec.rows  # filler rows write to out's spare row
    dec.done[:b] = positions >= rows
    dec.after_nl[:b] = False
    dec.slot.fill_(t - 1)  # advance moves it to t, where the first token goes
    dec.column.zero_()
    dec.advance(F.pad(logits, (0, 0, 0, b - rows)), b, rule)
    check = CUDA_CHECK_EVERY if dec.device.type == "cuda" else 1
    steps = 1
    while steps < max_new_tokens:
        if rule.stop and steps % check == 0:
            live = (~dec.done[:b]).nonzero()[:, 0]
            if len(live) == 0:
                break
            if len(live) <= b // 2:  # half done or more: a smaller batch pays
                b = dec.bucket(len(live))
                dec.compact_loop(live, b, pad)
        dec.fused_step(b, rule, t + steps)
        steps += 1
    return steps


def texts(tok: object, decoded: Decoded, seconds: float) -> list[Generation]:
    """Each row as the plain path reports it: cut at the end, special tokens dropped."""
    gens, ends = [], set(end_ids(tok))
    for row in decoded.ids.tolist():
        ids = row[: row.index(tok.pad_token_id)] if tok.pad_token_id in row else row
        stop = next((k for k, i in enumerate(ids) if i in ends), None)
        ended = stop is not None
        if ended:
            ids = ids[: stop + 1]
        text = tok.decode(ids, skip_special_tokens=True)
        head, found, _ = text.partition(BLANK_LINE)
        if found:
            text, ended = head, True
        gens.append(Generation(text=text.strip(), tokens=len(ids), finished=ended, seconds=seconds))
    return gens


# Calls the plain path answered, by reason ("model: why"): the engine reads
# sum(fallbacks.values()) for a count, the keys for the reasons.
fallbacks: Counter[str] = Counter()


def _fallback(lm: LoadedModel, why: Unsupported) -> None:
    """Count the call and say once per model and reason that the plain path takes over."""
    reason = f"{lm.name}: {why}"
    with _lock:
        first = reason not in fallbacks
        fallbacks[reason] += 1
    if first:
        log.warning("fast generation unavailable (%s); using the plain path", reason)


def generate(
    lm: LoadedModel,
    prompts: list[str],
    n: int = 4,
    sampling: SamplingParams = DEFAULT,
) -> list[list[Generation]]:
    """engine.llm.generate.generate, fast: n sampled candidates for each prompt.

    Same arguments, same results and the same distribution; temperature 0 decodes greedily.
    """
    if not prompts:
        return []
    if n < 1 or sampling.max_new_tokens < 1:
        raise ValueError("n and max_new_tokens must be at least 1")
    try:
        start = time.perf_counter()
        decoded = decode(
            lm,
            prompts,
            n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_new_tokens=sampling.max_new_tokens,
            seed=sampling.seed,
        )
        gens = texts(lm.tokenizer, decoded, time.perf_counter() - start)
    except Unsupported as e:  # only a model this path does not cover; a bug raises
        _fallback(lm, e)
        return plain.generate(lm, prompts, n, sampling)
    return [gens[i * n : (i + 1) * n] for i in range(len(prompts))]
