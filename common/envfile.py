"""Settings from the environment with a `.env` file as fallback, read the same way by the
engine and the bot: a real environment variable wins over the .env line, an empty value
counts as unset, and a value that does not convert is refused with the key's name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the key."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; blank lines and # comments skipped, optional quotes stripped."""
    out: dict[str, str] = {}
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise ConfigError(f"{path}:{n}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:  # an unquoted value may carry a trailing comment
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out


def load(
    cls: type[T],
    key_of: Callable[[str], str],
    env: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
) -> T:
    """The settings dataclass `cls` from `env` (default os.environ) over the lines of
    `env_file`; key_of names each field's key. Fields not set keep their defaults."""
    values = read_env_file(env_file) if env_file is not None and env_file.exists() else {}
    values.update(os.environ if env is None else env)
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        key = key_of(f.name)
        if values.get(key, "") != "":
            kwargs[f.name] = convert(key, values[key], type(getattr(defaults, f.name)))
    return cls(**kwargs)


def convert(key: str, raw: str, kind: type) -> object:
    """raw as the field's type; booleans as 1/true/yes/on or 0/false/no/off."""
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} must be true or false, not {raw!r}")
    try:
        return kind(raw)
    except ValueError:  # numbers only: the raw value of a string field is kept as it is
        raise ConfigError(f"{key} must be {kind.__name__}, not {raw!r}") from None
