"""Micro-benchmark behind docs/notes-latency.md "CPU int8": every linear layer of one decode
step of SmolLM2-135M (random weights, its shapes), per kernel option torch itself offers.

    python scripts/cpu_kernels.py [threads] [rows]
"""

import sys
import time
import warnings

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore")  # quantized-tensor deprecation notices
THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
SHAPES = [(960, 576), (576, 576), (3072, 576), (576, 1536)] * 30 + [(49152, 576)]


def bench(name: str, fns: list, cast) -> None:
    xs = {k: cast(torch.randn(ROWS, k)) for k in (576, 1536)}

    def step() -> None:
        for (_, k), fn in zip(SHAPES, fns, strict=True):
            fn(xs[k])

    for _ in range(3):
        step()
    times = []
    for _ in range(7):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(f"{name:36s} {sorted(times)[3] * 1e3:8.2f} ms a step (median of 7)", flush=True)


def int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = w.abs().amax(1) / 127
    return torch.round(w / scale[:, None]).to(torch.int8), scale


def int4(w: torch.Tensor, group: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    n, k = w.shape
    g = w.view(n, k // group, group)
    low, high = g.amin(-1), g.amax(-1)
    scale = ((high - low) / 15).clamp_min(1e-6)
    q = torch.round((g - low[..., None]) / scale[..., None]).clamp(0, 15).to(torch.int32)
    packed = torch._convert_weight_to_int4pack_for_cpu(q.view(n, k), 1)
    return packed, torch.stack([scale, low + scale * 8], -1).transpose(0, 1).contiguous()


def main() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(THREADS)
    print(f"{THREADS} threads, {ROWS} rows, capability {torch.backends.cpu.get_cpu_capability()}")
    ws = [torch.randn(o, i) * 0.02 for o, i in SHAPES]
    bench("float32 F.linear", [lambda x, w=w: F.linear(x, w) for w in ws], lambda x: x)
    wb = [w.bfloat16() for w in ws]
    bench("bf16 F.linear", [lambda x, w=w: F.linear(x, w) for w in wb], torch.Tensor.bfloat16)
    q8 = [(q, s.bfloat16()) for q, s in map(int8, ws)]
    fns = [lambda x, q=q, s=s: torch._weight_int8pack_mm(x, q, s) for q, s in q8]
    bench("int8 weight-only (_weight_int8pack_mm)", fns, torch.Tensor.bfloat16)
    q4 = [(p, s.bfloat16()) for p, s in map(int4, ws)]
    fns = [lambda x, p=p, s=s: torch._weight_int4pack_mm_for_cpu(x, p, 32, s) for p, s in q4]
    bench("int4 (_weight_int4pack_mm_for_cpu)", fns, torch.Tensor.bfloat16)
    packed = []
    for w in ws:
        q, scale = int8(w)
        zero = torch.zeros(len(scale), dtype=torch.long)
        qw = torch._make_per_channel_quantized_tensor(q, scale.double(), zero, 0)
        packed.append(torch.ops.quantized.linear_prepack(qw, None))
    fns = [lambda x, p=p: torch.ops.quantized.linear_dynamic(x, p, False) for p in packed]
    bench("int8 dynamic (quantized::linear_dynamic)", fns, lambda x: x)


if __name__ == "__main__":
    main()
