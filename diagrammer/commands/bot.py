"""`diagrammer bot`: run the Discord bot until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from diagrammer.errors import UserError

if TYPE_CHECKING:
    from bot.config import BotSettings

HELP = "run the Discord bot (settings from DISCORD_TOKEN, ENGINE_*, BOT_* variables or .env)"
log = logging.getLogger("diagrammer.bot")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="KEY=value lines")
    parser.add_argument("--engine-url", help="the engine's base URL (ENGINE_URL)")
    parser.add_argument(
        "--guild", type=int, help="sync commands to this server only (BOT_GUILD_ID)"
    )


def run(args: argparse.Namespace) -> int:
    from bot.config import BotSettings, ConfigError
    from common.redact import setup_logging

    env = dict(os.environ)
    if args.engine_url:
        env["ENGINE_URL"] = args.engine_url
    if args.guild:
        env["BOT_GUILD_ID"] = str(args.guild)
    try:
        settings = BotSettings.load(env, args.env_file)
    except ConfigError as e:
        raise UserError(str(e)) from None
    setup_logging([settings.token, settings.engine_secret], settings.log_level)
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
            await bot.start(settings.token)
    except discord.LoginFailure:
        raise UserError(
            "Discord refused the token: copy it again from the developer portal"
        ) from None
