"""Errors a request can end in, as (HTTP status, one sentence, extra JSON fields)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


def bad_request(message: str) -> ServiceError:
    return ServiceError(400, message)


def not_found(what: str) -> ServiceError:
    return ServiceError(404, f"no such {what}")
