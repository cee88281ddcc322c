"""Request bodies, checked: every refusal names the field and the limit it broke."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.service.config import Settings
from engine.service.errors import bad_request

MAX_ID_CHARS = 64
RETRAIN_WHAT = ("embeddings", "profiles", "preferences", "orpo", "cnn", "all")


@dataclass(frozen=True)
class DiagramRequest:
    user_id: str
    description: str
    candidates: int
    top: int


@dataclass(frozen=True)
class RatingRequest:
    user_id: str
    diagram_id: str
    score: int | None  # None for a removal


def diagram_request(body: Any, settings: Settings) -> DiagramRequest:
    body = _object(body)
    description = body.get("description")
    limit = settings.max_description_chars
    if not isinstance(description, str) or not description.strip():
        raise bad_request(f"description must be a non-empty string of at most {limit} characters")
    description = description.strip()
    if len(description) > limit:
        raise bad_request(
            f"description is {len(description)} characters long; the limit is {limit}"
        )
    candidates = _int(body, "candidates", settings.default_candidates, 1, settings.max_candidates)
    top = _int(body, "top", settings.default_top, 1, settings.max_top)
    if top > candidates:
        raise bad_request(f"top ({top}) cannot exceed candidates ({candidates})")
    return DiagramRequest(_id(body, "user_id"), description, candidates, top)


def rating_request(body: Any, *, removal: bool) -> RatingRequest:
    body = _object(body)
    score = None if removal else _int(body, "score", None, 1, 5)
    return RatingRequest(_id(body, "user_id"), _id(body, "diagram_id"), score)


def retrain_request(body: Any) -> str:
    what = _object(body).get("what")
    if what not in RETRAIN_WHAT:
        raise bad_request(f"what must be one of {', '.join(RETRAIN_WHAT)}")
    return what


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    return body


def _id(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Discord snowflakes may arrive as numbers
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise bad_request(f"{key} must be a non-empty string of at most {MAX_ID_CHARS} characters")
    return value


def _int(body: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{key} must be an integer from {low} to {high}")
    return value
