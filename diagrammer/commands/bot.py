"""`diagrammer bot`: run the Discord bot until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bot.config import BotSettings
from diagrammer.errors import UserError
from diagrammer.settings_options import add_options, given

HELP = "run the Discord bot (settings from DISCORD_TOKEN, ENGINE_*, BOT_* variables or .env)"
log = logging.getLogger("diagrammer.bot")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="KEY=value lines")
    add_options(parser, BotSettings, also={"guild_id": ["--guild"]})


def run(args: argparse.Namespace) -> int:
    from common.redact import setup_logging

    settings = BotSettings.load(args.env_file, **given(args, BotSettings))
    secrets = (settings.token.get_secret_value(), settings.engine_secret.get_secret_value())
    setup_logging(secrets, settings.log_level)
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: BotSettings) -> None:
    import discord

    from bot.client import DiagramBot
    from bot.engine_client import EngineError

    # SIGTERM ends the process at once: the bot keeps no state, so only the requests in
    # flight are lost (the engine withdraws them when their connections close).
    bot = DiagramBot(settings)
    try:
        health = await bot.engine.health()
        log.info("engine at %s serves model %s", settings.engine_url, health.get("model_version"))
    except EngineError as e:  # not fatal: requests fail clearly until the engine is up
        log.warning("engine at %s: %s; starting anyway", settings.engine_url, e.message)
    try:
        async with bot:
            await bot.start(settings.token.get_secret_value())
    except discord.LoginFailure:
        raise UserError(
            "Discord refused the token: copy it again from the developer portal"
        ) from None
