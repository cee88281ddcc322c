"""The shared secret: every call but the health check carries `Authorization: Bearer <secret>`.

Both sides are hashed before the constant-time comparison, so neither the content nor the
length of the secret leaks through response timing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from engine.service.errors import ServiceError

OPEN_PATHS = frozenset({"/healthz"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def secret_middleware(
    secret: str,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    expected = _digest(f"Bearer {secret}")

    @web.middleware
    async def check_secret(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in OPEN_PATHS:
            given = _digest(request.headers.get("Authorization", ""))
            if not hmac.compare_digest(given, expected):
                raise ServiceError(
                    401, "missing or wrong shared secret", headers={"WWW-Authenticate": "Bearer"}
                )
        return await handler(request)

    return check_secret
