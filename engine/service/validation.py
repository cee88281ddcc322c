"""Request bodies, checked: every refusal names the field and the limit it broke.

Text must be something SQLite and a Discord message can hold and a person can see: no lone
surrogates (JSON's "\\ud800" decodes to one, and UTF-8 cannot encode it), no control
characters (a description may hold line breaks and tabs), and at least one visible
character (spaces and zero-width characters alone are refused).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from engine.service.config import Settings
from engine.service.errors import bad_request

MAX_ID_CHARS = 64
DIAGRAM_ID = re.compile(r"[0-9a-f]{1,64}")  # as in the routes
TEXT_CONTROLS = frozenset("\n\r\t")  # the control characters a description may hold
INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})  # Unicode categories
MAX_RENDER_CHARS = 32_000  # 200 nodes of a node list fit; under the 64 KiB body limit
RETRAIN_WHAT = ("embeddings", "profiles", "preferences", "orpo", "cnn", "all")


@dataclass(frozen=True)
class DiagramRequest:
    user_id: str
    description: str
    candidates: int
    top: int


@dataclass(frozen=True)
class RenderRequest:
    user_id: str
    text: str  # a sketch or a node list (docs/sketch.md, docs/format.md)
    description: str  # what it depicts, "" when unknown


@dataclass(frozen=True)
class RatingRequest:
    user_id: str
    diagram_id: str
    score: int | None  # None for a removal


def diagram_request(body: Any, settings: Settings) -> DiagramRequest:
    body = _object(body)
    description = body.get("description")
    limit = settings.max_description_chars
    if not isinstance(description, str) or not visible(description):
        raise bad_request(f"description must be a non-empty string of at most {limit} characters")
    description = _clean(description.strip(), "description", TEXT_CONTROLS)
    if len(description) > limit:
        raise bad_request(
            f"description is {len(description)} characters long; the limit is {limit}"
        )
    candidates = _int(body, "candidates", settings.default_candidates, 1, settings.max_candidates)
    top = _int(body, "top", settings.default_top, 1, settings.max_top)
    if top > candidates:
        raise bad_request(f"top ({top}) cannot exceed candidates ({candidates})")
    return DiagramRequest(_id(body, "user_id"), description, candidates, top)


def render_request(body: Any, settings: Settings) -> RenderRequest:
    """POST /v1/render: {user_id, text, description?}; the text's characters are checked as
    a description's are (line breaks and tabs allowed), its length against MAX_RENDER_CHARS."""
    body = _object(body)
    text = body.get("text")
    if not isinstance(text, str) or not visible(text):
        raise bad_request(
            f"text must be a non-empty sketch or node list of at most {MAX_RENDER_CHARS} characters"
        )
    text = _clean(text.strip(), "text", TEXT_CONTROLS)
    if len(text) > MAX_RENDER_CHARS:
        raise bad_request(f"text is {len(text)} characters long; the limit is {MAX_RENDER_CHARS}")
    description = body.get("description", "")
    limit = settings.max_description_chars
    if not isinstance(description, str):
        raise bad_request(f"description, if given, must be a string of at most {limit} characters")
    description = _clean(description.strip(), "description", TEXT_CONTROLS)
    if len(description) > limit:
        raise bad_request(
            f"description is {len(description)} characters long; the limit is {limit}"
        )
    return RenderRequest(_id(body, "user_id"), text, description)


def rating_request(body: Any, *, removal: bool) -> RatingRequest:
    body = _object(body)
    score = None if removal else _int(body, "score", None, 1, 5)
    diagram_id = body.get("diagram_id")
    if not isinstance(diagram_id, str) or not DIAGRAM_ID.fullmatch(diagram_id):
        raise bad_request("diagram_id must be a diagram's id (1-64 lowercase hex digits)")
    return RatingRequest(_id(body, "user_id"), diagram_id, score)


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
    if not isinstance(value, str) or not visible(value) or len(value) > MAX_ID_CHARS:
        raise bad_request(f"{key} must be a non-empty string of at most {MAX_ID_CHARS} characters")
    return _clean(value, key, frozenset())


def _int(body: dict[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{key} must be an integer from {low} to {high}")
    return value


def visible(text: str) -> bool:
    """Holds a character that shows: not only spaces, zero-width or other format characters."""
    return any(not c.isspace() and unicodedata.category(c) not in INVISIBLE for c in text)


def _clean(text: str, key: str, allowed_controls: frozenset[str]) -> str:
    """The text, when UTF-8 can store it and it holds no control character but those allowed."""
    for c in text:
        kind = unicodedata.category(c)
        if kind == "Cs":
            raise bad_request(f"{key} holds a lone surrogate, which is not valid Unicode")
        if kind == "Cc" and c not in allowed_controls:
            raise bad_request(f"{key} holds a control character (U+{ord(c):04X})")
    return text
