"""Settings read the same way by the engine and the bot, through pydantic-settings.

Each process has one model (engine.service.config.Settings, bot.config.BotSettings) built on
EnvSettings. A value comes from, first to last: the keyword arguments (the command line),
the environment, the `.env` file, the field's default. An empty value counts as unset, and a
shared .env's keys for the other process are ignored. A bad value is refused in one sentence
per bad field that names its key; a secret's value never appears in a message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import SecretStr, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

SHOWN_CHARS = 40  # of a bad value quoted in a message


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the key."""


class EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_ignore_empty=True,  # `ENGINE_SECRET=` in .env.example means "not set yet"
        extra="ignore",  # the engine and the bot share one .env, each reading its own keys
        frozen=True,
        validate_by_name=True,  # BotSettings(token=...) as well as DISCORD_TOKEN=...
        validate_by_alias=True,
        env_file_encoding="utf-8",
    )

    @classmethod
    def key_of(cls, name: str) -> str:
        """The variable that sets field `name`: its alias, else the prefix and its name."""
        alias = cls.model_fields[name].validation_alias
        if isinstance(alias, str):
            return alias
        return cls.model_config.get("env_prefix", "") + name.upper()

    @classmethod
    def read(cls, env_file: Path | None, **values: Any) -> Self:
        """The settings from `values` over the environment over `env_file` (if it exists)."""
        try:
            return cls(_env_file=env_file, **values)
        except ValidationError as e:
            raise ConfigError(readable(cls, e)) from None


def readable(cls: type[EnvSettings], error: ValidationError) -> str:
    """One sentence per bad field, each naming the key: 'ENGINE_PORT must be a valid
    integer, unable to parse string as an integer, not '80a'.'"""
    return " ".join(sentence(cls, e) for e in error.errors())


def sentence(cls: type[EnvSettings], error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if not error["loc"]:  # a check across fields, which names its keys itself
        return message.rstrip(".") + "."
    name = field_named(cls, str(error["loc"][0]))
    if name is None:
        return f"{error['loc'][0]} {message}."
    shown = "" if is_secret(cls, name) else f", not {repr(error['input'])[:SHOWN_CHARS]}"
    return f"{cls.key_of(name)} {message}{shown}."


def field_named(cls: type[EnvSettings], loc: str) -> str | None:
    """The field an error is about: pydantic names it by its alias when the alias set it."""
    for name in cls.model_fields:
        if loc in (name, cls.key_of(name)):
            return name
    return None


def is_secret(cls: type[EnvSettings], name: str) -> bool:
    return cls.model_fields[name].annotation is SecretStr
