"""`diagrammer bot`: settings from a .env file, and a token Discord refuses.

The command module is driven directly (not through diagrammer.cli.main, which imports every
command's arguments, some of them heavy), in a thread: it runs its own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import pytest
from fake_discord import FakeDiscord
from fake_engine import SECRET, FakeEngine

from common.settings import ConfigError
from diagrammer.commands import bot as command
from diagrammer.errors import UserError

WRONG = "MTAwMA.a-token-discord-refuses.0123456789"


def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def clean_env(monkeypatch):
    for key in ("DISCORD_TOKEN", "ENGINE_URL", "ENGINE_SECRET"):
        monkeypatch.delenv(key, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level


async def test_a_refused_token_is_a_clear_error_that_does_not_echo_it(
    monkeypatch, tmp_path, capsys, clean_env
):
    fake = await FakeDiscord().start()
    fake.patch(monkeypatch)
    fake.token = "MTAwMA.the-right-token.0123456789"
    engine = await FakeEngine().start()
    env_file = tmp_path / ".env"
    env_file.write_text(f"DISCORD_TOKEN={WRONG}\nENGINE_SECRET={SECRET}\nBOT_LOG_LEVEL=DEBUG\n")
    try:
        with pytest.raises(UserError, match="Discord refused the token"):
            await asyncio.to_thread(
                command.run, args("--env-file", str(env_file), "--engine-url", engine.url)
            )
    finally:
        await fake.close()
        await engine.close()
    err = capsys.readouterr().err
    assert f"engine at {engine.url} serves model base" in err  # logged, and at DEBUG level
    assert WRONG not in err and SECRET not in err
    assert [c["auth"] for c in fake.paths("/users/@me")] == [f"Bot {WRONG}"]


def test_missing_settings_name_the_key(clean_env):
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is empty"):
        command.run(args("--env-file", str(Path("/nonexistent/.env"))))
