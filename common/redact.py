"""Keep secrets out of the logs: a filter that blanks them in every record a handler writes
(the engine's shared secret, the bot's Discord token).

It sits on the handlers, not on a logger, because a logger's filters do not see the records
its children propagate (discord.http, aiohttp, ...). Messages, arguments, tracebacks and
stack dumps are all rendered and redacted before any formatter sees them. Besides the
secrets themselves it blanks whatever follows "Bearer ", since a cut-off header (aiohttp
quotes the first ~100 bytes of a line it refuses) holds a prefix of the secret that a plain
search for the whole secret would miss.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6  # shorter values would blank ordinary words
BEARER = re.compile(r"(Bearer\s+)[^\s'\"]+", re.IGNORECASE)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        kept = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        self.secrets = sorted(kept, key=len, reverse=True)  # a longer secret may hold a shorter

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return BEARER.sub(rf"\g<1>{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def setup_logging(
    secrets: Iterable[str], level: str = "INFO", stream: TextIO | None = None
) -> None:
    """One handler on the root logger (stderr by default), with the secrets redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
