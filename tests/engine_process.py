"""A real engine process on loopback (`python -m diagrammer engine`) serving a tiny language
model that was taught, in a second or two of CPU training, to answer one request.

A randomly initialised model writes garbage, and garbage draws nothing. So `train_sketcher`
fits the tiny Llama of engine/llm/tiny.py to a single chat turn: the engine's own prompt for
DESCRIPTION (engine/llm/prompt.py) followed by SKETCH and the end token. It trains until every
answer token has probability >= MIN_PROB, which top-p 0.95 sampling then always picks: the
engine's sampling reproduces SKETCH exactly, so tests can know the picture it draws.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fake_engine import SECRET

DESCRIPTION = "an MLP with 3 inputs, one hidden layer of 5 and 2 outputs"
SKETCH = """layers: 3 5 2
direction: right
shape: circle 40x40
fill: 255 224 178
line: solid arrow 66 66 66
labels: in | h | out"""
MIN_PROB = 0.98  # above top-p's 0.95: sampling can only pick the trained token
MAX_STEPS = 300
START_TIMEOUT_S = 60.0  # imports and model loading on two busy cores


def train_sketcher(folder: Path, description: str = DESCRIPTION, sketch: str = SKETCH) -> Path:
    """Save a tiny checkpoint (model + tokenizer) that answers `description` with `sketch`."""
    import torch  # noqa: PLC0415 (heavy: only tests that train pay for it)

    from engine.llm import prompt, tiny  # noqa: PLC0415
    from engine.pipeline import spec_of  # noqa: PLC0415

    tok = tiny.tokenizer()
    asked = prompt.build(tok, description, spec_of(description))
    context = tok(asked, add_special_tokens=False)["input_ids"]
    answer = tok(prompt.answer(tok, sketch), add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + answer])
    labels = ids.clone()
    labels[0, : len(context)] = -100  # learn the answer only
    model = tiny.model("llama", len(tok), seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(MAX_STEPS):
        logits = model(input_ids=ids).logits[0, len(context) - 1 : -1]
        probs = logits.softmax(-1).gather(1, ids[0, len(context) :, None])
        if probs.min().item() >= MIN_PROB:
            break
        loss = torch.nn.functional.cross_entropy(logits, ids[0, len(context) :])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    else:
        raise AssertionError(f"the tiny model did not learn the sketch in {MAX_STEPS} steps")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class EngineProcess:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "engine.sqlite3"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthy(self) -> bool:
        """Answers /healthz, and it is this process that does: the port was free when it was
        picked, but another server could have taken it since, so the engine's own log must
        show aiohttp's "Running on <url>" line."""
        if f"Running on {self.url}" not in self.log():
            return False
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                return json.load(r).get("ok") is True
        except (OSError, ValueError):
            return False

    def wait_healthy(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"the engine exited ({self.process.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the engine was not healthy in {timeout_s} s:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if it hangs; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def engine_process(
    model: Path | None, work: Path, **settings: str | int
) -> Iterator[EngineProcess]:
    """`python -m diagrammer engine` on a free loopback port: the pipeline backend on `model`
    (the demo backend when None), data in work/data. Stopped on exit; its log (stderr and
    stdout) is printed then, which pytest shows for a failed test."""
    port = free_port()
    data_dir = work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGINE_")}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "DIAGRAMMER_THREADS": "1",
        "DIAGRAMMER_CACHE": str(work / "cache"),
        "ENGINE_SECRET": SECRET,
        "ENGINE_HOST": "127.0.0.1",
        "ENGINE_PORT": str(port),
        "ENGINE_DATA_DIR": str(data_dir),
        "ENGINE_BACKEND": "demo",
        "ENGINE_RETRAIN_INTERVAL_MIN": "0",
        "ENGINE_BATCH_WINDOW_MS": "5",
    }
    if model is not None:
        env |= {
            "ENGINE_BACKEND": "pipeline",
            "ENGINE_MODEL": str(model),
            "ENGINE_ADAPTER": "none",  # the shipped adapters are for SmolLM2, not this model
            "ENGINE_DEVICE": "cpu",
        }
    env |= {f"ENGINE_{k.upper()}": str(v) for k, v in settings.items()}
    log_path = work / "engine.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            # no .env file: the environment alone configures it
            [sys.executable, "-m", "diagrammer", "engine", "--env-file", str(work / "no.env")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    engine = EngineProcess(f"http://127.0.0.1:{port}", data_dir, process, log_path)
    try:
        engine.wait_healthy()
        yield engine
    finally:
        engine.stop()
        print(f"--- engine log ({log_path}) ---\n{engine.log()}")
