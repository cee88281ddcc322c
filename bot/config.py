"""The bot's settings, from the environment with a `.env` file as fallback.

Keys (`.env.example` lists each with a comment): DISCORD_TOKEN, ENGINE_URL and ENGINE_SECRET
(the same secret the engine reads), and BOT_<FIELD> for the rest (BOT_ADMIN_ROLE for
`admin_role`, ...). A real environment variable wins over the .env line. Bad values are refused
at start-up with the key's name; the token itself never appears in a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common import envfile, limits
from common.envfile import ConfigError

PREFIX = "BOT_"
NAMED_KEYS = {
    "token": "DISCORD_TOKEN",
    "engine_url": "ENGINE_URL",
    "engine_secret": "ENGINE_SECRET",
}


@dataclass(frozen=True)
class BotSettings:
    token: str = ""
    engine_url: str = "http://127.0.0.1:8765"
    engine_secret: str = ""
    admin_role: str = ""  # a role name or id whose members may use the admin commands
    guild_id: int = 0  # sync the commands to this guild only (instant); 0 = globally
    sync_commands: bool = True
    # /diagram
    max_description_chars: int = limits.MAX_DESCRIPTION_CHARS
    candidates: int = limits.DEFAULT_CANDIDATES
    top: int = limits.DEFAULT_TOP
    # Per-user limits
    inflight_per_user: int = 1
    requests_per_minute: int = 3
    # Engine calls
    engine_timeout_s: float = 300.0  # a whole /diagram, queue included
    call_timeout_s: float = 15.0  # every other call
    job_poll_s: float = 10.0
    log_level: str = "INFO"

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> BotSettings:
        """Settings from `env` (default os.environ) over the lines of `env_file`."""
        settings = envfile.load(cls, key_of, env, env_file)
        settings.check()
        return settings

    def check(self) -> None:
        if not self.token:
            raise ConfigError(
                "DISCORD_TOKEN is empty: copy the bot token from the developer portal"
            )
        if not self.engine_secret:
            raise ConfigError("ENGINE_SECRET is empty: use the same secret as the engine")
        if not self.engine_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"ENGINE_URL must start with http:// or https://, not {self.engine_url!r}"
            )
        positive = ("max_description_chars", "candidates", "top", "inflight_per_user")
        positive += ("requests_per_minute", "engine_timeout_s", "call_timeout_s", "job_poll_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{key_of(name)} must be positive")
        if self.top > self.candidates:
            raise ConfigError(f"{key_of('top')} cannot exceed {key_of('candidates')}")

    def __repr__(self) -> str:  # the dataclass repr would print the token and the secret
        return f"BotSettings(engine_url={self.engine_url!r}, admin_role={self.admin_role!r}, ...)"


def key_of(field: str) -> str:
    return NAMED_KEYS.get(field, PREFIX + field.upper())
