"""Engine settings from the environment, with a `.env` file as fallback (common/settings.py).

Every key is ENGINE_<FIELD> (e.g. ENGINE_PORT for `port`); .env.example lists them all with
what they do. A real environment variable wins over the .env line. Bad values are refused at
start-up with the key's name, never silently replaced by a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common import limits
from common.settings import ConfigError, EnvSettings
from engine.llm.sampling import DEFAULT, SamplingParams

__all__ = ["ConfigError", "Settings"]


class Settings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="ENGINE_")

    secret: SecretStr = Field(SecretStr(""), description="shared secret the bot sends")
    host: str = Field("127.0.0.1", description="bind address")
    port: int = Field(8765, gt=0, le=65535, description="port")
    data_dir: Path = Field(Path("data/engine"), description="database and images")
    backend: Literal["pipeline", "demo"] = Field(
        "pipeline", description="pipeline: the LLM; demo: no model"
    )
    # Model (pipeline backend)
    model: str = Field("default", description="default | a .gguf | a checkpoint | a cached HF id")
    adapter: str = Field("latest", description='served as "base": latest | none | a version')
    device: str = Field("auto", description="auto | cpu | cuda")
    bits: int = Field(0, description="0 = full precision; 4 or 8 = bitsandbytes (GPU)")
    temperature: float = Field(DEFAULT.temperature, ge=0, description="sampling temperature")
    max_new_tokens: int = Field(DEFAULT.max_new_tokens, gt=0, description="tokens per candidate")
    # Requests
    max_body_bytes: int = Field(64 * 1024, gt=0, description="bigger bodies get 413")
    max_description_chars: int = Field(
        limits.MAX_DESCRIPTION_CHARS,
        gt=0,
        le=limits.MAX_DESCRIPTION_CHARS,  # the pipeline refuses longer ones anyway
        description="longer descriptions get 400",
    )
    max_candidates: int = Field(
        limits.MAX_CANDIDATES, gt=0, le=limits.MAX_CANDIDATES, description="most per request"
    )
    default_candidates: int = Field(limits.DEFAULT_CANDIDATES, gt=0, description="if not asked")
    max_top: int = Field(limits.MAX_TOP, gt=0, le=limits.MAX_TOP, description="most per request")
    default_top: int = Field(limits.DEFAULT_TOP, gt=0, description="if not asked")
    request_timeout_s: float = Field(120.0, gt=0, description="unanswered by then: 504")
    body_timeout_s: float = Field(10.0, gt=0, description="a body not read in full by then: 408")
    # Queue
    queue_max: int = Field(64, gt=0, description="requests waiting, at most")
    queue_max_per_user: int = Field(4, gt=0, description="of one user waiting, at most")
    inflight_per_user: int = Field(2, gt=0, description="of one user running, at most")
    batch_window_ms: float = Field(50.0, ge=0, description="requests this close share a batch")
    batch_max_candidates: int = Field(64, gt=0, description="sequences per generate call")
    score_workers: int = Field(
        -1, ge=-1, description="scoring processes; -1: one per core on a GPU host"
    )
    # Scheduled rebuilds
    retrain_interval_min: float = Field(360.0, ge=0, description="0 = only on admin demand")
    preference_margin: int = Field(2, description="rating gap that makes a preference pair")
    readable_min: float = Field(0.5, description="readability below this: a rejected example")
    ae_min_new_diagrams: int = Field(200, description="new diagrams that re-train the AE")
    orpo_min_pairs: int = Field(64, description="preference pairs ORPO needs")
    gate_tolerance: float = Field(0.0, description="how much worse a promoted adapter may be")
    retrain_keep: int = Field(5, gt=0, description="outputs kept per kind")

    @classmethod
    def load(
        cls, env_file: Path | None = Path(".env"), *, need_secret: bool = True, **values: Any
    ) -> Self:
        """Settings from `values` over the environment over the lines of `env_file`.
        Serving needs the secret; checking or copying the data dir does not."""
        settings = cls.read(env_file, **values)
        if need_secret and not settings.secret.get_secret_value():
            raise ConfigError(f"{cls.key_of('secret')} is empty: set a long random shared secret")
        return settings

    @property
    def sampling(self) -> SamplingParams:
        """How the engine samples: these two settings, SamplingParams' top-p, no seed."""
        return SamplingParams(temperature=self.temperature, max_new_tokens=self.max_new_tokens)

    @field_validator("bits")
    @classmethod
    def _bits(cls, bits: int) -> int:
        if bits not in (0, 4, 8):
            raise ValueError("must be 0, 4 or 8")
        return bits

    @model_validator(mode="after")
    def _defaults_within_limits(self) -> Self:
        for default, most in (("default_candidates", "max_candidates"), ("default_top", "max_top")):
            if getattr(self, default) > getattr(self, most):
                key, limit = self.key_of(default), self.key_of(most)
                raise ValueError(f"{key} must be within 1..{limit} ({getattr(self, most)})")
        return self
