"""The bot's settings, from the environment with a `.env` file as fallback (common/settings.py).

Keys (`.env.example` lists each with a comment): DISCORD_TOKEN, ENGINE_URL and ENGINE_SECRET
(the same secret the engine reads), and BOT_<FIELD> for the rest (BOT_ADMIN_ROLE for
`admin_role`, ...). A real environment variable wins over the .env line. Bad values are refused
at start-up with the key's name; the token itself never appears in a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from common import limits
from common.settings import ConfigError, EnvSettings

__all__ = ["BotSettings", "ConfigError"]
# What to do about an empty secret, by field.
REQUIRED = {
    "token": "copy the bot token from the developer portal",
    "engine_secret": "use the same secret as the engine",
}


class BotSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_")

    token: SecretStr = Field(
        SecretStr(""), validation_alias="DISCORD_TOKEN", description="the bot's Discord token"
    )
    engine_url: str = Field(
        "http://127.0.0.1:8765", validation_alias="ENGINE_URL", description="the engine's base URL"
    )
    engine_secret: SecretStr = Field(
        SecretStr(""), validation_alias="ENGINE_SECRET", description="the engine's shared secret"
    )
    admin_role: str = Field("", description="a role (name or id) allowed the admin commands")
    guild_id: int = Field(0, ge=0, description="sync commands to this server only; 0 = globally")
    sync_commands: bool = Field(True, description="sync the slash commands at start")
    # /diagram
    max_description_chars: int = Field(
        limits.MAX_DESCRIPTION_CHARS,
        gt=0,
        le=limits.MAX_DESCRIPTION_CHARS,  # the engine refuses longer ones
        description="longest description accepted",
    )
    candidates: int = Field(
        limits.DEFAULT_CANDIDATES,
        gt=0,
        le=limits.MAX_CANDIDATES,  # as /diagram's own option allows
        description="candidates drawn when not asked",
    )
    top: int = Field(
        limits.DEFAULT_TOP, gt=0, le=limits.MAX_TOP, description="diagrams shown when not asked"
    )
    # Per-user limits
    inflight_per_user: int = Field(1, gt=0, description="/diagram requests running at once")
    requests_per_minute: int = Field(3, gt=0, description="/diagram requests started a minute")
    # Engine calls
    engine_timeout_s: float = Field(300.0, gt=0, description="a whole /diagram, queue included")
    call_timeout_s: float = Field(15.0, gt=0, description="every other engine call")
    job_poll_s: float = Field(10.0, gt=0, description="how often a /retrain job is polled")
    log_level: str = Field("INFO", description="DEBUG | INFO | WARNING | ERROR")

    @classmethod
    def load(cls, env_file: Path | None = Path(".env"), **values: Any) -> Self:
        """Settings from `values` over the environment over the lines of `env_file`."""
        settings = cls.read(env_file, **values)
        for name, what in REQUIRED.items():
            if not getattr(settings, name).get_secret_value():
                raise ConfigError(f"{cls.key_of(name)} is empty: {what}")
        return settings

    @field_validator("engine_url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return url

    @model_validator(mode="after")
    def _top_within_candidates(self) -> Self:
        if self.top > self.candidates:
            raise ValueError(f"{self.key_of('top')} cannot exceed {self.key_of('candidates')}")
        return self
