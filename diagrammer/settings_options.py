"""Command-line options made from a settings model's fields (common/settings.py), so a setting
is named, typed, defaulted and described once: `port` becomes `--port`, an int, whose help
gives its description, its key (ENGINE_PORT) and its default.

An option left out stays None and sets nothing: the environment, the .env file or the default
decides. Secrets get no option, since a command line is visible to every user (ps).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args, get_origin

from pydantic import SecretStr

from common.settings import EnvSettings


def add_options(
    parser: argparse.ArgumentParser,
    model: type[EnvSettings],
    also: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """One option per field of `model` but the secrets; `also` adds older names of an option."""
    group = parser.add_argument_group("settings", "each overrides its variable and .env line")
    for name, field in model.model_fields.items():
        if field.annotation is SecretStr:
            continue
        flags = ["--" + name.replace("_", "-"), *(also or {}).get(name, ())]
        what = (field.description or name).replace("%", "%%")  # argparse formats help with %
        group.add_argument(
            *flags,
            dest=name,
            default=None,
            help=f"{what} ({model.key_of(name)}, default {str(field.default) or 'empty'})",
            **typed(field.annotation),
        )


def typed(annotation: Any) -> dict[str, Any]:
    """How argparse reads a value of this type: flags for a bool, choices for a Literal."""
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        return {"type": type(choices[0]), "choices": choices}
    return {"type": annotation}


def given(args: argparse.Namespace, model: type[EnvSettings]) -> dict[str, Any]:
    """The settings the command line set, by field name."""
    values = {name: getattr(args, name, None) for name in model.model_fields}
    return {name: value for name, value in values.items() if value is not None}
