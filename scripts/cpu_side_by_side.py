"""Ours (int8, the CPU default), ours (float32, the old default) and llama.cpp on the same GGUF,
alternating run by run in one process: 4 candidates x 60 new tokens, one thread each
(docs/notes-latency.md "CPU int8"). Needs llama-cpp-python (optional, not a dependency).

    python scripts/cpu_side_by_side.py [runs]
"""

import statistics
import sys
import time
import warnings

import torch

from engine.bench import llamacpp
from engine.llm import fast, prompt
from engine.llm.load import default_gguf, load

warnings.filterwarnings("ignore")
ASK, N, TOKENS = "an MLP with 3 inputs, two hidden layers of 5 and 2 outputs", 4, 60


def main(runs: int) -> None:
    torch.set_num_threads(1)
    ours, old = (load("default", device="cpu", adapter="v1") for _ in range(2))  # 2 decoders
    ps = [prompt.build(ours.tokenizer, ASK, None)]
    peer = llamacpp.Peer(default_gguf(), 1)
    engines = {
        "ours int8": lambda: fast.decode(ours, ps, N, max_new_tokens=TOKENS, stop=False),
        "ours float32 (old)": lambda: fast.decode(
            old, ps, N, max_new_tokens=TOKENS, stop=False, int8=False
        ),
        "llama.cpp": lambda: peer.run(ps[0], N, TOKENS),
    }
    for run in engines.values():
        run()  # warm-up: decoders built, prompt cached
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(runs):
        for name, run in engines.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    for name, times in seconds.items():
        p50 = statistics.median(times)
        ratio = statistics.median(t / o for t, o in zip(seconds["llama.cpp"], times, strict=True))
        print(
            f"{name:20s} p50 {p50:.2f} s  {N * TOKENS / p50:6.1f} tokens/s  "
            f"llama.cpp/this {ratio:.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
