"""aiohttp's own refusals answered as the engine's: a JSON sentence, one log line, no echo.

aiohttp's parser refuses some requests before any middleware runs (a request line or
header over max_line_size, too many headers, bytes that are not HTTP), and its default
answer is a text/plain body quoting the offending bytes (an Authorization header among
them) with a traceback in the log. aiohttp offers no public hook for that answer
(aio-libs/aiohttp#3287), so EngineRunner's server makes its connections with
JsonErrorHandler, whose handle_error answers the way the error middleware does.

It also closes a connection whose first request head has not arrived within
HEAD_TIMEOUT_S: aiohttp times out an idle keep-alive connection, but not a first request
whose headers never end, which would hold a connection open for ever.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    LineTooLong,
)
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

log = logging.getLogger(__name__)
HEAD_TIMEOUT_S = 10.0


def sentence(status: int, exc: BaseException | None, limits: RequestHandler) -> str:
    """What went wrong, in words that quote nothing the client sent."""
    if isinstance(exc, LineTooLong):
        return f"the request line or a header is over {limits.max_line_size} bytes"
    if isinstance(exc, BadStatusLine):
        return "the request line is not valid HTTP"
    if isinstance(exc, InvalidHeader):
        return "a header is not valid HTTP"
    if isinstance(exc, BadHttpMessage) and exc.message.startswith("Too many headers"):
        return f"the request has more than {limits.max_headers} headers"
    if isinstance(exc, HttpProcessingError) or 400 <= status < 500:
        return "the request is not valid HTTP"
    if status == 504:
        return "the request took too long"
    return "internal error"


class JsonErrorHandler(RequestHandler):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        loop = asyncio.get_running_loop()
        self._head_timer = loop.call_later(HEAD_TIMEOUT_S, self._head_overdue)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._head_timer.cancel()
        super().connection_lost(exc)

    def _head_overdue(self) -> None:
        # aiohttp counts a request once its head is parsed (and keeps the count private).
        if getattr(self, "_request_count", 1) == 0:
            log.info("closed a connection: no request head within %g s", HEAD_TIMEOUT_S)
            self.force_close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp's: a response is half sent already
            raise ConnectionError("a response was sent already; cannot send an error")
        why = sentence(status, exc, self)
        body: dict[str, str] = {"error": why}
        if status >= 500:
            body["reference"] = ref = secrets.token_hex(4)
            body["error"] = f"{why} (reference {ref})"
            log.error("%s (reference %s)", why, ref, exc_info=exc)
        else:  # the client's mistake: one line, the exception's name, never its text
            kind = type(exc).__name__ if exc else status
            log.info("refused a request from %s: %s (%s)", request.remote, why, kind)
        response = web.json_response(body, status=status)
        response.force_close()
        return response


class JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class EngineRunner(web.AppRunner):
    """An AppRunner whose connections answer parser errors with JsonErrorHandler."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = JsonErrorServer  # the same server; only its connections differ
        return server
