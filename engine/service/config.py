"""Engine settings from the environment, with a `.env` file as fallback.

Every key is ENGINE_<FIELD> (e.g. ENGINE_PORT for `port`); .env.example lists them all with
what they do. A real environment variable wins over the .env line. Bad values are refused at
start-up with the key's name, never silently replaced by a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common import envfile, limits
from common.envfile import ConfigError
from engine.llm.sampling import DEFAULT, SamplingParams

PREFIX = "ENGINE_"
BACKENDS = ("pipeline", "demo")  # the LLM pipeline; a stand-in without a model


@dataclass(frozen=True)
class Settings:
    secret: str = ""
    host: str = "127.0.0.1"
    port: int = 8765
    data_dir: Path = Path("data/engine")
    backend: str = "pipeline"  # one of BACKENDS
    # Model (pipeline backend)
    model: str = "default"  # default | path to .gguf | checkpoint folder | cached HF id
    adapter: str = "latest"  # the built-in ("base") adapter: latest | none | a shipped version
    device: str = "auto"  # auto | cpu | cuda
    bits: int = 0  # 0 = full precision, 4 or 8 = bitsandbytes quantisation (GPU)
    temperature: float = DEFAULT.temperature
    max_new_tokens: int = DEFAULT.max_new_tokens
    # Requests
    max_body_bytes: int = 64 * 1024
    max_description_chars: int = limits.MAX_DESCRIPTION_CHARS
    max_candidates: int = limits.MAX_CANDIDATES
    default_candidates: int = limits.DEFAULT_CANDIDATES
    max_top: int = limits.MAX_TOP
    default_top: int = limits.DEFAULT_TOP
    request_timeout_s: float = 120.0
    body_timeout_s: float = 10.0  # a body not read in full by then gets 408
    # Queue
    queue_max: int = 64
    queue_max_per_user: int = 4
    inflight_per_user: int = 2
    batch_window_ms: float = 50.0
    batch_max_candidates: int = 64
    score_workers: int = -1  # processes scoring candidates; -1: one per core on a GPU host
    # Scheduled rebuilds
    retrain_interval_min: float = 360.0  # 0 = only on admin demand
    preference_margin: int = 2
    readable_min: float = 0.5
    ae_min_new_diagrams: int = 200
    orpo_min_pairs: int = 64
    gate_tolerance: float = 0.0
    retrain_keep: int = 5  # preference files and unused scorer versions kept per kind

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Settings from `env` (default os.environ) over the lines of `env_file`."""
        settings = envfile.load(cls, lambda name: PREFIX + name.upper(), env, env_file)
        settings.check()
        return settings

    @property
    def sampling(self) -> SamplingParams:
        """How the engine samples: these two settings, SamplingParams' top-p, no seed."""
        return SamplingParams(temperature=self.temperature, max_new_tokens=self.max_new_tokens)

    def check(self) -> None:
        if not self.secret:
            raise ConfigError(f"{PREFIX}SECRET is empty: set a long random shared secret")
        if self.backend not in BACKENDS:
            raise ConfigError(f"{PREFIX}BACKEND must be pipeline or demo, not {self.backend!r}")
        if self.bits not in (0, 4, 8):
            raise ConfigError(f"{PREFIX}BITS must be 0, 4 or 8")
        positive = ("port", "max_body_bytes", "max_description_chars", "max_candidates")
        positive += ("max_top", "queue_max", "queue_max_per_user", "inflight_per_user")
        positive += ("batch_max_candidates", "request_timeout_s", "max_new_tokens")
        positive += ("body_timeout_s", "retrain_keep")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{PREFIX}{name.upper()} must be positive")
        if not 1 <= self.default_candidates <= self.max_candidates:
            raise ConfigError(f"{PREFIX}DEFAULT_CANDIDATES must be within 1..MAX_CANDIDATES")
        if not 1 <= self.default_top <= self.max_top:
            raise ConfigError(f"{PREFIX}DEFAULT_TOP must be within 1..MAX_TOP")
