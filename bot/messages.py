"""Everything the bot says, in one place: progress, results, refusals, errors, admin views.

Text that echoes what a person typed is escaped (no markdown tricks) and shortened; mentions
are never resolved anyway (the client sends allowed_mentions none with every message).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from discord.utils import escape_markdown

from bot.engine_client import Drawn, EngineError, EngineTimeout, EngineUnavailable
from bot.limits import Refusal
from bot.reactions import KEYCAPS

QUOTE_CHARS = 200
GUESS_BELOW = 0.2  # below this confidence the expected rating is mostly the prior


def quote(description: str) -> str:
    text = " ".join(description.split())
    if len(text) > QUOTE_CHARS:
        text = text[: QUOTE_CHARS - 1] + "…"
    return f"“{escape_markdown(text)}”"


# /diagram


def progress(event: dict[str, Any], candidates: int) -> str | None:
    kind = event.get("event")
    if kind == "queued":
        return f"⏳ Waiting in the queue, position {event.get('position', '?')}…"
    if kind == "generating":
        return f"✏️ Drawing {candidates} candidates…"
    if kind == "ranking":
        return "📊 Ranking the candidates for you…"
    return None


def summary(description: str, shown: int, candidates: int) -> str:
    return (
        f"Top {shown} of {candidates} candidates for {quote(description)}. "
        f"Rate each with {KEYCAPS[0]}–{KEYCAPS[-1]} (5 = easiest to read): "
        "your ratings shape what you get next."
    )


def result_line(d: Drawn, shown: int) -> str:
    parts = [f"**#{d.rank}** of {shown}"]
    if d.readability is not None:
        parts.append(f"readability {d.readability:.0%}")
    if d.expected_rating is not None:
        guess = " (a first guess)" if (d.confidence or 0) < GUESS_BELOW else ""
        parts.append(f"your expected rating {d.expected_rating:.1f}/5{guess}")
    if d.fidelity_exact is False:
        parts.append("⚠️ does not match every number you gave")
    return " · ".join(parts)


def late_header(user_id: int, description: str) -> str:
    return (
        f"<@{user_id}>, your diagrams for {quote(description)} took longer than Discord lets "
        "me answer a command, so here they are:"
    )


def no_results(description: str) -> str:
    return f"I could not draw {quote(description)}. Try describing it differently."


EMPTY = "Please describe the diagram you want, e.g. “an MLP with 3 inputs, 5 hidden, 2 outputs”."


def too_long(length: int, limit: int) -> str:
    return (
        f"Your description is {length} characters long; the limit is {limit}. "
        "Please shorten it and ask again."
    )


def top_over_candidates(top: int, candidates: int) -> str:
    return f"You asked for the top {top} of {candidates} candidates; top cannot exceed candidates."


def refused(refusal: Refusal) -> str:
    if refusal.reason == "in_flight":
        n = refusal.limit
        what = "a diagram" if n == 1 else f"{n} diagrams"
        return f"You already have {what} in progress. Wait for it to finish, then ask again."
    return (
        f"You can ask for {refusal.limit} diagrams a minute. "
        f"Please try again in {refusal.wait_s} s."
    )


def engine_failed(error: EngineError, ref: str) -> str:
    if isinstance(error, EngineTimeout):
        return f"⌛ The diagram engine is too slow right now; please try again later. (ref {ref})"
    if isinstance(error, EngineUnavailable):
        return (
            "🔌 The diagram engine is unreachable right now; "
            f"please try again in a minute. (ref {ref})"
        )
    if error.status == 401:
        return f"💥 The bot is not set up right: the engine refused its secret. (ref {ref})"
    if error.status == 429:
        wait = f" in {error.retry_after:.0f} s" if error.retry_after else " in a moment"
        return f"🚦 The diagram engine is busy; please try again{wait}."
    if error.status == 504:
        return (
            f"⌛ The diagram engine could not finish in time; please try again later. (ref {ref})"
        )
    if error.status is not None and 400 <= error.status < 500:
        return f"The diagram engine refused this request: {escape_markdown(error.message)}"
    return f"💥 The diagram engine failed on this request. (ref {ref})"


# Iterating on a posted diagram: Edit, More like this, SVG; a sketch attached to /diagram

SOMETHING_WENT_WRONG = "Something went wrong on my side; please try again."
MAX_PROBLEMS_SHOWN = 8
EDIT_BUTTON, MORE_BUTTON, SVG_BUTTON = "Edit", "More like this", "SVG"
EDIT_TITLE = "Edit the diagram"
EDIT_LABEL = "Sketch or node list"
EDIT_HINT = "Change it and submit: I redraw it as a new diagram of yours (docs/sketch.md)."
EDITED_EMPTY = "There is nothing to draw: the text you submitted is empty."
NO_DESCRIPTION = (
    "This diagram was drawn from a sketch, not from a description, so there is nothing to "
    "draw more of. Use Edit to change it instead."
)
SVG_READY = "The vector copy (SVG) of this diagram, for papers and slides."
FILE_EMPTY = "Your file is empty: attach a sketch or a node list as a text file."
FILE_NOT_TEXT = (
    "Your file is not UTF-8 text: attach a sketch or a node list as a plain text file (.txt)."
)
FILE_UNREADABLE = "I could not download your file from Discord; please attach it again."


def edit_too_long(length: int, limit: int) -> str:
    return (
        f"This diagram's text is {length:,} characters long, too long to edit in Discord "
        f"(a form holds {limit:,}). Download its .txt file, edit it and attach it to "
        "/diagram, or draw it with `diagrammer render`."
    )


def file_too_big(size: int, limit: int) -> str:
    return (
        f"Your file is {size:,} bytes; the limit is {limit:,}. Attach a sketch or a node list "
        "of at most that size."
    )


def text_too_long(length: int, limit: int) -> str:
    return f"Your text is {length:,} characters long; the limit is {limit:,}. Please shorten it."


def redrawn(d: Drawn, problems: tuple[str, ...]) -> str:
    """The one line above a redraw: it is the person's own, how to rate it, what is wrong."""
    text = f"Redrawn from your text. Rate it with {KEYCAPS[0]}–{KEYCAPS[-1]} (5 = easiest to read)."
    if d.readability is not None:
        text += f" Readability {d.readability:.0%}."
    if problems:
        n = len(problems)
        text += f"\n⚠️ {n} problem{'s' * (n != 1)} found in the drawing:"
        text += "".join(f"\n• {_short(p, 150)}" for p in problems[:MAX_PROBLEMS_SHOWN])
        if n > MAX_PROBLEMS_SHOWN:
            text += f"\n… and {n - MAX_PROBLEMS_SHOWN} more."
    return text


def redraw_line(d: Drawn) -> str:
    parts = ["**Your redraw**"]
    if d.readability is not None:
        parts.append(f"readability {d.readability:.0%}")
    if not d.valid:
        parts.append("⚠️ has problems (listed above)")
    return " · ".join(parts)


def late_redraw(user_id: int) -> str:
    return f"<@{user_id}>, your redraw took longer than Discord lets me answer, so here it is:"


# Admin

ADMINS_ONLY = "Only the bot's admins can use this command."


def job_started(job_id: int, what: str) -> str:
    return f"Job {job_id} ({what}) started. I'll tell you when it finishes."


def job_finished(job: dict[str, Any]) -> str:
    if job.get("status") == "done":
        return f"✅ Job {job['id']} ({job.get('what')}) is done. {_short(job.get('result'))}"
    return f"❌ Job {job['id']} ({job.get('what')}) failed: {_short(job.get('error'))}"


def jobs(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No jobs yet."
    lines = [
        f"`{r['id']:>4}` {r.get('what', '?'):<11} {r.get('status', '?'):<8} "
        f"{_when(r.get('started'))} → {_when(r.get('finished'))}"
        for r in rows[:20]
    ]
    return "\n".join(lines)


def models(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No model versions."
    lines = []
    for r in rows[:20]:
        marks = ("serving" if r.get("serving") else "") + (" promoted" if r.get("promoted") else "")
        lines.append(f"`{r.get('version')}` {_when(r.get('created'))} {marks.strip()}")
    return "\n".join(lines)


def stats(s: dict[str, Any]) -> str:
    latency = s.get("latency_ms") or {}
    requests = s.get("requests")
    if isinstance(requests, dict):
        requests = requests.get("total")
    return (
        f"model `{s.get('model_version')}` · queue {s.get('queue_depth')} · "
        f"requests {requests} · ratings {s.get('ratings')} · users {s.get('users')} · "
        f"latency p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms"
    )


def admin_failed(error: EngineError) -> str:
    return f"The engine said: {escape_markdown(error.message)}"


def _when(timestamp: Any) -> str:
    if not isinstance(timestamp, int | float):
        return "–"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _short(value: Any, limit: int = 300) -> str:
    text = "" if value is None else str(value)
    return escape_markdown(text if len(text) <= limit else text[: limit - 1] + "…")
