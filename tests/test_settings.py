"""The engine's and the bot's settings (common/settings.py): environment over .env over the
defaults, bad values refused in sentences that name their keys, secrets kept out of every
printout, the shared limits enforced, and command-line options that are the model's fields."""

from __future__ import annotations

import argparse
import io
import logging
import os
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.config import BotSettings
from common import limits
from common.redact import setup_logging
from common.settings import ConfigError, EnvSettings
from diagrammer import cli
from diagrammer.commands import bot as bot_command
from diagrammer.commands import engine as engine_command
from diagrammer.settings_options import given
from engine.service.config import Settings

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "MTAwMA.a-bot-token.0123456789"
SECRET = "a-long-shared-secret-0123456789"
NEEDED = {"DISCORD_TOKEN": TOKEN, "ENGINE_SECRET": SECRET}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the shell running the tests, nor from a .env in the working dir."""
    for key in list(os.environ):
        if key.upper().startswith(("ENGINE_", "BOT_")) or key.upper() == "DISCORD_TOKEN":
            monkeypatch.delenv(key)


def setenv(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def parse(command: object, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(argv)


def test_the_environment_wins_over_the_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nENGINE_SECRET='from file'\nENGINE_PORT=9000  # trailing note\n"
        "export ENGINE_QUEUE_MAX=5\nENGINE_BATCH_WINDOW_MS=\n"
        "DISCORD_TOKEN='abc.def'\nBOT_ADMIN_ROLE=diagram admins\nBOT_SYNC_COMMANDS=false\n"
        "ENGINE_URL=http://10.0.0.1:1\n"
    )
    setenv(monkeypatch, ENGINE_PORT="9001", ENGINE_URL="http://10.0.0.2:9000")
    s = Settings.load(env_file)
    assert (s.secret.get_secret_value(), s.port, s.queue_max) == ("from file", 9001, 5)
    assert (s.batch_window_ms, s.host) == (50.0, "127.0.0.1")  # empty = unset: the default
    b = BotSettings.load(env_file)
    assert (b.token.get_secret_value(), b.engine_secret.get_secret_value()) == (
        "abc.def",
        "from file",
    )
    assert (b.engine_url, b.admin_role, b.sync_commands) == (
        "http://10.0.0.2:9000",
        "diagram admins",
        False,
    )


def test_the_env_file_in_the_working_dir_is_the_default_one(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(f"ENGINE_SECRET={SECRET}\nENGINE_DATA_DIR=/srv/diagrams\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.load().data_dir == Path("/srv/diagrams")


def test_the_command_line_wins_over_the_environment(tmp_path, monkeypatch):
    setenv(monkeypatch, ENGINE_PORT="9001", ENGINE_BACKEND="pipeline", **NEEDED)
    args = parse(engine_command, "--port", "9002", "--backend", "demo", "--data-dir", str(tmp_path))
    s = engine_command._settings(args)
    assert (s.port, s.backend, s.data_dir) == (9002, "demo", tmp_path)
    args = parse(bot_command, "--guild", "42", "--engine-url", "https://x", "--no-sync-commands")
    b = BotSettings.load(None, **given(args, BotSettings))
    assert (b.guild_id, b.engine_url, b.sync_commands) == (42, "https://x", False)


@pytest.mark.parametrize(
    "model, env, sentences",
    [
        (Settings, {}, ["ENGINE_SECRET is empty"]),
        (
            Settings,
            {"ENGINE_PORT": "80a", "ENGINE_QUEUE_MAX": "0", "ENGINE_BACKEND": "gpt"},
            [
                "ENGINE_PORT must be a valid integer",
                "ENGINE_QUEUE_MAX must be greater than 0, not '0'.",
                "ENGINE_BACKEND must be 'pipeline' or 'demo', not 'gpt'.",
            ],
        ),
        (Settings, {"ENGINE_BITS": "3"}, ["ENGINE_BITS must be 0, 4 or 8, not '3'."]),
        (Settings, {"ENGINE_DEFAULT_TOP": "3", "ENGINE_MAX_TOP": "2"}, ["ENGINE_DEFAULT_TOP"]),
        (BotSettings, {"ENGINE_SECRET": SECRET}, ["DISCORD_TOKEN is empty"]),
        (BotSettings, {"DISCORD_TOKEN": TOKEN}, ["ENGINE_SECRET is empty"]),
        (BotSettings, {"BOT_TOP": "x"}, ["BOT_TOP must be a valid integer"]),
        (BotSettings, {"BOT_TOP": "4", "BOT_CANDIDATES": "2"}, ["BOT_TOP cannot exceed"]),
        (BotSettings, {"ENGINE_URL": "ftp://x"}, ["ENGINE_URL must start with http://"]),
        (
            BotSettings,
            {"BOT_SYNC_COMMANDS": "maybe"},
            ["BOT_SYNC_COMMANDS must be a valid boolean"],
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(monkeypatch, model, env, sentences):
    if env and "is empty" not in sentences[0]:
        setenv(monkeypatch, **NEEDED)
    setenv(monkeypatch, **env)
    with pytest.raises(ConfigError) as refused:
        model.load(None)
    message = str(refused.value)
    assert all(s in message for s in sentences), message
    assert "\n" not in message  # one line, however many bad fields
    assert "pydantic" not in message and "errors.pydantic.dev" not in message


def test_the_cli_prints_a_bad_setting_in_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    env_file = tmp_path / ".env"
    env_file.write_text(f"ENGINE_SECRET={SECRET}\nENGINE_MAX_BODY_BYTES=lots\n")
    assert cli.main(["engine", "--check", "--env-file", str(env_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("diagrammer: ENGINE_MAX_BODY_BYTES must be a valid integer")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_maintenance_needs_no_secret(tmp_path, capsys):
    args = ["engine", "--check", "--env-file", str(tmp_path / "none"), "--data-dir", str(tmp_path)]
    assert cli.main(args) == 0
    assert cli.main(args[:1] + args[2:]) == 2  # serving does
    assert "ENGINE_SECRET is empty" in capsys.readouterr().err


def test_secrets_stay_out_of_repr_str_json_errors_and_logs(monkeypatch):
    setenv(monkeypatch, **NEEDED, ENGINE_PORT="x", BOT_TOP="y")
    with pytest.raises(ConfigError) as engine_error:
        Settings.load(None)
    with pytest.raises(ConfigError) as bot_error:
        BotSettings.load(None)
    monkeypatch.delenv("ENGINE_PORT")
    monkeypatch.delenv("BOT_TOP")
    engine, bot = Settings.load(None), BotSettings.load(None)
    stream, root = io.StringIO(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging(
        [bot.token.get_secret_value(), bot.engine_secret.get_secret_value()], stream=stream
    )
    try:
        logging.getLogger("diagrammer.test").info("settings %s %r", bot, engine)
        logging.getLogger("diagrammer.test").info("sent %s", SECRET)
    finally:
        root.handlers, root.level = handlers, level
    shown = [
        repr(engine),
        str(engine),
        repr(bot),
        str(bot),
        bot.model_dump_json(),
        stream.getvalue(),
    ]
    shown += [str(engine_error.value), str(bot_error.value)]
    for text in shown:
        assert TOKEN not in text and SECRET not in text, text
    assert "ENGINE_PORT" in shown[-2] and "BOT_TOP" in shown[-1]
    assert bot.token.get_secret_value() == TOKEN and engine.secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    "model, key, most",
    [
        (Settings, "ENGINE_MAX_DESCRIPTION_CHARS", limits.MAX_DESCRIPTION_CHARS),
        (Settings, "ENGINE_MAX_CANDIDATES", limits.MAX_CANDIDATES),
        (Settings, "ENGINE_MAX_TOP", limits.MAX_TOP),
        (BotSettings, "BOT_MAX_DESCRIPTION_CHARS", limits.MAX_DESCRIPTION_CHARS),
        (BotSettings, "BOT_CANDIDATES", limits.MAX_CANDIDATES),
    ],
)
def test_the_shared_limits_bound_the_settings(monkeypatch, model, key, most):
    setenv(monkeypatch, **NEEDED, **{key: str(most)})
    assert model.load(None)  # the limit itself is allowed
    monkeypatch.setenv(key, str(most + 1))
    with pytest.raises(ConfigError, match=f"{key} must be less than or equal to {most}"):
        model.load(None)


def test_the_defaults_are_the_shared_limits():
    engine, bot = Settings(), BotSettings()
    assert engine.max_description_chars == bot.max_description_chars == limits.MAX_DESCRIPTION_CHARS
    assert (engine.max_candidates, engine.max_top) == (limits.MAX_CANDIDATES, limits.MAX_TOP)
    assert engine.default_candidates == bot.candidates == limits.DEFAULT_CANDIDATES
    assert engine.default_top == bot.top == limits.DEFAULT_TOP


@pytest.mark.parametrize("command, model", [(engine_command, Settings), (bot_command, BotSettings)])
def test_each_setting_but_the_secrets_is_an_option_with_the_models_default(command, model):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    options = {a.dest: a for a in parser._actions}
    for name, field in model.model_fields.items():
        if name in ("secret", "token", "engine_secret"):
            assert name not in options  # a command line is visible to every user
            continue
        option = options[name]
        assert option.default is None  # unset: the environment or .env decides
        assert model.key_of(name) in option.help and str(field.default) in option.help
        assert field.description and field.description in option.help
    assert given(parser.parse_args([]), model) == {}


def test_the_old_option_names_still_work():
    assert parse(engine_command, "--host", "0.0.0.0", "--port", "1").port == 1
    assert parse(bot_command, "--guild", "7").guild_id == 7
    with pytest.raises(SystemExit):  # argparse refuses a backend that is not a choice
        parse(engine_command, "--backend", "gpt")


@pytest.mark.parametrize("model", [Settings, BotSettings])
def test_env_example_lists_every_setting_with_its_default(model: type[EnvSettings]):
    listed = dotenv_values(ROOT / ".env.example")
    for name in model.model_fields:
        assert model.key_of(name) in listed, f"{model.key_of(name)} is missing from .env.example"
    assert model.read(ROOT / ".env.example") == model()  # and each value is the default
