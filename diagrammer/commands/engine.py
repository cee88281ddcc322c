"""`diagrammer engine`: run the engine's HTTP service until Ctrl-C or SIGTERM; or check,
back up or restore its data dir.

This is the engine's composition root: the one place that picks the backend and trainer that
ENGINE_BACKEND names and hands them to the service (engine/ imports no implementation).

The data dir is checked before the backend loads (which can take a minute), so a damaged
or unwritable store ends the command within a second or two with one line and exit 2.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from diagrammer.errors import UserError
from diagrammer.settings_options import add_options, given
from engine.service.config import Settings

if TYPE_CHECKING:
    from engine.service.backend import Backend, Trainer

HELP = "run the engine's HTTP service (settings from ENGINE_* variables or .env)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="KEY=value lines")
    add_options(parser, Settings)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--check", action="store_true", help="check the data dir (integrity, writable) and exit"
    )
    what.add_argument(
        "--backup", type=Path, metavar="FILE", help="copy the database to FILE (engine may run)"
    )
    what.add_argument(
        "--restore", type=Path, metavar="FILE", help="replace the database by FILE (engine stopped)"
    )


def run(args: argparse.Namespace) -> int:
    from engine.store.check import StoreDamaged

    settings = _settings(args)
    try:
        return _run(args, settings)
    except StoreDamaged as e:
        raise UserError(str(e)) from None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from engine.store.backup import backup, restore
    from engine.store.check import check_data_dir

    data_dir = settings.data_dir
    if args.backup is not None:
        print(backup(data_dir, args.backup))
        return 0
    if args.restore is not None:
        print(restore(data_dir, args.restore))
        return 0
    checked = check_data_dir(data_dir)
    if args.check:
        print(checked)
        return 0
    return _serve(settings)


def _settings(args: argparse.Namespace) -> Settings:
    # Maintenance needs only the data dir: no secret required to check or copy it.
    serving = not (args.check or args.backup or args.restore)
    return Settings.load(args.env_file, need_secret=serving, **given(args, Settings))


def _serve(settings: Settings) -> int:
    from common.redact import setup_logging
    from engine.service.app import serve

    setup_logging([settings.secret.get_secret_value()])
    backend, trainer = load_backend(settings)
    logging.getLogger("diagrammer").info(
        "engine on http://%s:%s, data in %s, backend %s",
        settings.host,
        settings.port,
        settings.data_dir,
        settings.backend,
    )
    serve(settings, backend, trainer)
    return 0


def load_backend(settings: Settings) -> tuple[Backend, Trainer]:
    """The backend and trainer ENGINE_BACKEND names (the pipeline one loads the model)."""
    if settings.backend == "demo":
        from engine.service.demo_backend import DemoBackend, DemoTrainer

        return DemoBackend(), DemoTrainer()
    from engine.service.pipeline_backend import PipelineBackend
    from training.trainer import PipelineTrainer

    return PipelineBackend.load(settings), PipelineTrainer(settings)
