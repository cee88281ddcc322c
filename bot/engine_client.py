"""The engine's HTTP API (docs/api.md) as async methods; the only way the bot reaches it.

Every failure becomes an EngineError: `status` is the engine's HTTP status, or None when the
engine could not be reached or did not answer in time (EngineUnavailable). Calls that may
safely run twice are retried on connection errors and 502/503/504 with a short backoff;
POST /v1/diagrams only when the connection failed before the engine could read the request.
One aiohttp session holds the connections; after an engine restart a dead pooled
connection fails once and is replaced, so the bot reconnects by itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)
RETRIES = 2  # extra attempts after the first
BACKOFF_S = 0.5  # doubled after each attempt
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_LINE_BYTES = 64 << 20  # one NDJSON event; "done" carries the PNGs
REQUEST_ID_HEADER = "X-Request-Id"  # the bot's reference, so both logs can be matched
QUICK_S = 2.0  # a call answered before Discord's 3 s (opening a modal)
QUICK_TIMEOUT = aiohttp.ClientTimeout(total=QUICK_S, connect=1)


class EngineError(Exception):
    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class EngineUnavailable(EngineError):
    """Unreachable or disconnected: nothing the engine said."""


class EngineTimeout(EngineUnavailable):
    """No (complete) answer within the client's timeout."""


@dataclass(frozen=True)
class Drawn:
    """One ranked diagram of an answer."""

    id: str
    rank: int
    png: bytes
    text: str | None  # the node list
    sketch: str | None  # what the model wrote
    valid: bool
    readability: float | None
    expected_rating: float | None
    confidence: float | None
    fidelity_exact: bool | None

    @classmethod
    def from_json(cls, r: dict[str, Any]) -> Drawn:
        return cls(
            id=str(r["id"]),
            rank=int(r["rank"]),
            # The preview (cropped to the drawing) reads better in Discord's ~400 px preview.
            png=base64.b64decode(r.get("preview_base64") or r["png_base64"]),
            text=r.get("text"),
            sketch=r.get("sketch"),
            valid=bool(r.get("valid")),
            readability=r.get("readability"),
            expected_rating=r.get("expected_rating"),
            confidence=r.get("confidence"),
            fidelity_exact=r.get("fidelity_exact"),
        )


@dataclass(frozen=True)
class Drawing:
    request_id: str
    model_version: str
    results: list[Drawn]
    problems: tuple[str, ...] = ()  # a redraw's reading and validation problems

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Drawing:
        results = [Drawn.from_json(r) for r in body["results"]]
        problems = tuple(str(p) for p in body.get("problems") or ())
        return cls(body["request_id"], body["model_version"], results, problems)


OnEvent = Callable[[dict[str, Any]], None]  # queued / generating / ranking


class EngineClient:
    def __init__(
        self, url: str, secret: str, draw_timeout_s: float = 300.0, call_timeout_s: float = 15.0
    ) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {secret}"}
        self.draw_timeout = aiohttp.ClientTimeout(total=draw_timeout_s, connect=5)
        self.call_timeout = aiohttp.ClientTimeout(total=call_timeout_s, connect=5)
        self.backoff_s = BACKOFF_S
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # created lazily: needs a loop
            self._session = aiohttp.ClientSession(headers=self.headers)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # Diagrams

    async def draw(
        self,
        user_id: str,
        description: str,
        candidates: int,
        top: int,
        on_event: OnEvent,
        ref: str = "",
    ) -> Drawing:
        """Ask for diagrams through the streaming endpoint; progress events go to on_event."""
        body = {
            "user_id": user_id,
            "description": description,
            "candidates": candidates,
            "top": top,
        }
        async with self._open(
            "POST", "/v1/diagrams?stream=1", body, ref, self.draw_timeout, idempotent=False
        ) as response:
            try:
                async for event in _ndjson(response):
                    kind = event.get("event")
                    if kind == "done":
                        return Drawing.from_json(event)
                    if kind == "error":
                        raise _error(event.get("status"), event)
                    on_event(event)
            except (aiohttp.ClientError, TimeoutError) as e:
                raise _unavailable(e) from e
            except (KeyError, TypeError, ValueError) as e:
                raise EngineError(f"the engine sent a malformed answer ({e!r})", 502) from e
        raise EngineUnavailable("the engine closed the stream before the diagrams were ready")

    async def render(self, user_id: str, text: str, description: str = "") -> Drawing:
        """Redraw a person's sketch or node list as a new diagram of theirs (POST /v1/render).
        Not retried once sent: a lost answer must not store the drawing twice."""
        body = {"user_id": user_id, "text": text, "description": description}
        answer = await self._call("POST", "/v1/render", body, idempotent=False)
        try:
            return Drawing.from_json(answer)
        except (KeyError, TypeError, ValueError) as e:
            raise EngineError(f"the engine sent a malformed answer ({e!r})", 502) from e

    async def diagram(self, diagram_id: str, quick: bool = False) -> dict[str, Any]:
        """A stored diagram (GET /v1/diagrams/{id}); quick: within QUICK_S, for an answer
        that must come before Discord's 3 s are up (a modal cannot be deferred)."""
        timeout = QUICK_TIMEOUT if quick else self.call_timeout
        path = f"/v1/diagrams/{_segment(diagram_id)}"
        async with self._open("GET", path, None, "", timeout, idempotent=not quick) as response:
            try:
                answer = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as e:
                raise _unavailable(e) from e
            except ValueError as e:
                raise EngineError("the engine sent a malformed answer", 502) from e
        if not isinstance(answer, dict):
            raise EngineError("the engine sent a malformed answer", 502)
        return answer

    async def svg(self, diagram_id: str) -> bytes:
        """The diagram as SVG (GET /v1/diagrams/{id}.svg)."""
        path = f"/v1/diagrams/{_segment(diagram_id)}.svg"
        async with self._open("GET", path, None, "", self.call_timeout, True) as response:
            try:
                return await response.read()
            except (aiohttp.ClientError, TimeoutError) as e:
                raise _unavailable(e) from e

    async def rate(self, user_id: str, diagram_id: str, score: int) -> None:
        body = {"user_id": user_id, "diagram_id": diagram_id, "score": score}
        await self._call("PUT", "/v1/ratings", body)

    async def unrate(self, user_id: str, diagram_id: str) -> bool:
        body = {"user_id": user_id, "diagram_id": diagram_id}
        return bool((await self._call("DELETE", "/v1/ratings", body))["deleted"])

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/healthz")

    # Admin

    async def retrain(self, what: str) -> int:
        # Not retried: a lost answer must not start a second job.
        return int((await self._call("POST", "/v1/admin/retrain", {"what": what}, False))["job_id"])

    async def jobs(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/v1/admin/jobs")

    async def job(self, job_id: int) -> dict[str, Any]:
        return await self._call("GET", f"/v1/admin/jobs/{job_id}")

    async def models(self) -> list[dict[str, Any]]:
        return await self._call("GET", "/v1/admin/models")

    async def promote(self, version: str, force: bool = False) -> dict[str, Any]:
        path = f"/v1/admin/models/{_segment(version)}/promote"
        return await self._call("POST", path, {"force": force})

    async def rollback(self) -> dict[str, Any]:
        return await self._call("POST", "/v1/admin/models/rollback", None, False)

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "/v1/stats")

    # Plumbing

    async def _call(self, method: str, path: str, body: Any = None, idempotent: bool = True) -> Any:
        async with self._open(method, path, body, "", self.call_timeout, idempotent) as response:
            try:
                return await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as e:
                raise _unavailable(e) from e
            except ValueError as e:
                raise EngineError("the engine sent a malformed answer", 502) from e

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        path: str,
        body: Any,
        ref: str,
        timeout: aiohttp.ClientTimeout,
        idempotent: bool,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open 2xx response, after the retries; anything else raises EngineError."""
        headers = {REQUEST_ID_HEADER: ref} if ref else {}
        delay = self.backoff_s
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            try:
                response = await self.session.request(
                    method, self.url + path, json=body, headers=headers, timeout=timeout
                )
            except aiohttp.ClientConnectorError as e:  # nothing was sent: always safe to retry
                if last:
                    raise _unavailable(e) from e
            except (aiohttp.ClientError, TimeoutError) as e:
                if last or not idempotent:
                    raise _unavailable(e) from e
            else:
                if response.status < 300:
                    try:
                        yield response
                    finally:
                        response.release()
                    return
                error = await _read_error(response)
                if last or not idempotent or response.status not in RETRY_STATUSES:
                    raise error
            log.info("engine %s %s failed; retrying in %.1f s", method, path, delay)
            await asyncio.sleep(delay)
            delay *= 2


async def _read_error(response: aiohttp.ClientResponse) -> EngineError:
    try:
        body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        body = None
    finally:
        response.release()
    if not isinstance(body, dict):
        body = {"error": f"the engine answered HTTP {response.status}"}
    if "retry_after" not in body and (header := response.headers.get("Retry-After")):
        body["retry_after"] = header
    return _error(response.status, body)


def _error(status: Any, body: dict[str, Any]) -> EngineError:
    message = str(body.get("error") or "the engine failed")
    try:
        retry_after = float(body["retry_after"]) if body.get("retry_after") is not None else None
    except (TypeError, ValueError):
        retry_after = None
    return EngineError(message, int(status) if isinstance(status, int) else 500, retry_after)


def _unavailable(e: BaseException) -> EngineUnavailable:
    if isinstance(e, TimeoutError):
        return EngineTimeout("the engine did not answer in time")
    return EngineUnavailable(f"the engine is unreachable ({type(e).__name__})")


def _segment(value: str) -> str:
    """A path segment that cannot escape its place in the URL."""
    return quote(value, safe="")


async def _ndjson(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """One JSON object per line. aiohttp's own line reader caps lines at 128 KiB, too small
    for a "done" event with its PNGs, so the lines are split here."""
    line = bytearray()
    async for chunk in response.content.iter_any():
        *ends, rest = chunk.split(b"\n")
        for end in ends:
            line += end
            if line.strip():
                yield json.loads(line)
            line.clear()
        line += rest
        if len(line) > MAX_LINE_BYTES:
            raise EngineError("the engine sent an oversized event", 502)
    if line.strip():
        yield json.loads(line)
