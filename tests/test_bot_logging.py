"""The Discord token and the engine secret never reach the logs, nor any message."""

from __future__ import annotations

import io
import json
import logging

import pytest
from bot_harness import TOKEN, with_fake_engine
from fake_discord import until
from fake_engine import SECRET

from common.redact import REDACTED, RedactFilter, setup_logging


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level


async def test_a_whole_session_at_debug_level_never_logs_the_token(monkeypatch, restore_logging):
    out = io.StringIO()
    setup_logging([TOKEN, SECRET], "DEBUG", out)
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1")
        await h.diagrams_posted(3)
        engine.fail_with = {"status": 500, "error": f"boom {SECRET}"}
        failing = await h.command("diagram", description="a net", uid=5001)
        await until(lambda: h.discord.edits(failing["token"])[-1:] != [])
        log = logging.getLogger("bot.test")
        log.info("careless: token=%s secret=%s", TOKEN, SECRET)
        try:
            raise RuntimeError(f"Authorization: Bot {TOKEN}")
        except RuntimeError:
            log.warning("a failure that mentions the token", exc_info=True)
        sent = json.dumps([c.get("json") for c in h.discord.calls], ensure_ascii=False)
    text = out.getvalue()
    assert "discord.gateway" in text and "diagram ref=" in text  # the run was really logged
    assert "careless: token=[redacted] secret=[redacted]" in text
    assert f"RuntimeError: Authorization: Bot {REDACTED}" in text
    assert TOKEN not in text and SECRET not in text
    assert TOKEN.split(".")[-1] not in text
    assert TOKEN not in sent and SECRET not in sent  # nor echoed to Discord


def test_redact_filter_leaves_short_values_and_other_text_alone():
    f = RedactFilter(["abc", "s3cr3t-value", ""])
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%s and abc", ("s3cr3t-value",), None
    )
    assert f.filter(record) and record.getMessage() == f"{REDACTED} and abc"
