"""`diagrammer engine`: run the engine's HTTP service until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from diagrammer.errors import UserError

HELP = "run the engine's HTTP service (settings from ENGINE_* variables or .env)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="KEY=value lines")
    parser.add_argument("--host", help="bind address (ENGINE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (ENGINE_PORT, default 8765)")
    parser.add_argument("--data-dir", type=Path, help="database and images (ENGINE_DATA_DIR)")
    parser.add_argument(
        "--backend", choices=("pipeline", "demo"), help="pipeline: the LLM; demo: no model"
    )


def run(args: argparse.Namespace) -> int:
    from engine.service.config import PREFIX, ConfigError, Settings

    env = dict(os.environ)
    for name in ("host", "port", "data_dir", "backend"):
        if getattr(args, name) is not None:
            env[PREFIX + name.upper()] = str(getattr(args, name))
    try:
        settings = Settings.load(env, args.env_file)
    except ConfigError as e:
        raise UserError(str(e)) from None

    from engine.service.app import serve
    from engine.service.backend import load_backend

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
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
