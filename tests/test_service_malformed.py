"""Malformed input at every route of a real engine on loopback: always a 4xx (or a real
answer), always one JSON sentence, never a traceback or the secret in the log.

The engine (demo backend) runs on its own event loop in a thread, served by EngineRunner
as `diagrammer engine` serves it, so aiohttp's own parser errors are covered too. Requests
are real HTTP: http.client, or raw bytes on a socket for what http.client will not send.
Every case is tallied; `pytest -s` prints "malformed input: N cases tried, M clean".
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.redact import RedactFilter
from engine.service import protocol
from engine.service.app import create_app
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer
from engine.service.protocol import EngineRunner

SECRET = "malformed-test-secret-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}
TALLY: Counter[str] = Counter()
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")
MAX_BODY = 8192

# (method, path template): {hex} a diagram id, {digits} a job id, {name} a model version.
ROUTES = [
    ("GET", "/healthz"),
    ("POST", "/v1/diagrams"),
    ("POST", "/v1/diagrams?stream=1"),
    ("GET", "/v1/diagrams/{hex}"),
    ("GET", "/v1/diagrams/{hex}.png"),
    ("PUT", "/v1/ratings"),
    ("DELETE", "/v1/ratings"),
    ("POST", "/v1/admin/retrain"),
    ("GET", "/v1/admin/jobs"),
    ("GET", "/v1/admin/jobs/{digits}"),
    ("GET", "/v1/admin/models"),
    ("POST", "/v1/admin/models/rollback"),
    ("POST", "/v1/admin/models/{name}/promote"),
    ("GET", "/v1/stats"),
]
BODY_ROUTES = [r for r in ROUTES if r[0] in ("POST", "PUT", "DELETE")]
KEYS = ("user_id", "description", "candidates", "top", "diagram_id", "score", "what", "force")


@dataclass
class Live:
    port: int
    log: io.StringIO


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The engine on a free loopback port, its log (root logger, redacted) in Live.log."""
    data_dir: Path = tmp_path_factory.mktemp("malformed")
    s = Settings(
        secret=SECRET,
        data_dir=data_dir,
        retrain_interval_min=0.0,
        batch_window_ms=5.0,
        max_body_bytes=MAX_BODY,
        body_timeout_s=1.0,
        queue_max=8,
    )
    log = io.StringIO()
    handler = _log_handler(log)
    head_timeout, protocol.HEAD_TIMEOUT_S = protocol.HEAD_TIMEOUT_S, 1.0
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = EngineRunner(create_app(s, DemoBackend(), DemoTrainer()), access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(runner.addresses[0][1])
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=run, name="engine", daemon=True)
    thread.start()
    assert ready.wait(60), "the engine did not start"
    try:
        yield Live(port[0], log)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        protocol.HEAD_TIMEOUT_S = head_timeout
        import logging

        logging.getLogger().removeHandler(handler)
        print(f"\nmalformed input: {TALLY['tried']} cases tried, {TALLY['clean']} clean")


def _log_handler(out: io.StringIO) -> object:
    import logging

    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactFilter([SECRET]))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


def one_sentence(text: object) -> bool:
    return (
        isinstance(text, str)
        and 0 < len(text) <= 200
        and "\n" not in text
        and "Traceback" not in text
        and SECRET not in text
        and not EXCEPTION_NAME.search(text)
    )


def is_clean(status: int, content_type: str, data: bytes) -> bool:
    """A 4xx with one JSON sentence, or a success of the route's own kind; never a 5xx."""
    if status >= 500 or SECRET.encode() in data:
        return False
    if content_type == "application/x-ndjson":  # a stream: its last event ends it
        last = json.loads(data.splitlines()[-1])
        return last["event"] == "done" or (
            last["event"] == "error" and last["status"] < 500 and one_sentence(last["error"])
        )
    if status < 400:
        return content_type in ("application/json", "image/png")
    return content_type == "application/json" and one_sentence(json.loads(data).get("error"))


def tally(status: int, content_type: str, data: bytes) -> None:
    TALLY["tried"] += 1
    clean = is_clean(status, content_type, data)
    TALLY["clean"] += clean
    assert clean, f"{status} {content_type}: {data[:300]!r}"


def call(live: Live, method: str, path: str, body: bytes | None, auth: bool = True) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        headers = (AUTH if auth else {}) | {"Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        tally(r.status, r.headers.get_content_type(), data)
    finally:
        conn.close()


def raw(live: Live, request: bytes) -> bytes:
    """Send bytes, read until the engine closes the connection; the response's bytes."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # the engine may refuse before reading it all
            sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    content_type = re.search(rb"Content-Type: ([\w/+.-]+)", head)
    tally(status, content_type.group(1).decode() if content_type else "", body)
    return response


def assert_log_clean(live: Live) -> None:
    text = live.log.getvalue()
    assert "Traceback" not in text and SECRET not in text, text[-3000:]
    assert not re.search(r"^(ERROR|CRITICAL)", text, re.M), text[-3000:]


def path_for(template: str, hex_id: str, digits: str, name: str) -> str:
    quoted = urllib.parse.quote(name.encode("utf-8", "surrogatepass"), safe="")
    return template.format(hex=hex_id, digits=digits, name=quoted)


# Strategies: every character (lone surrogates included), awkward numbers, deep nesting.

NASTY_TEXT = [
    "", " ", "   ", "\u200b\u200b", "\ufeff", "\x00", "u\x00", "\ud800", "x\udfff", "a" * 65,
    "x" * 5000, "\t\n", "\U0010ffff", "%00", "../../etc/passwd", "'; DROP TABLE ratings; --",
    "0123456789abcdef", "u1", "a network 2 3 1", "all", "base", "\u202e", "\x7f",
]  # fmt: skip
texts = st.text(st.characters(exclude_categories=()), max_size=60) | st.sampled_from(NASTY_TEXT)
numbers = (
    st.integers(-10, 20)
    | st.integers(min_value=2**63 - 2, max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
)
scalars = st.none() | st.booleans() | numbers | texts
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(texts, kids, max_size=4),
    max_leaves=12,
)
objects = st.fixed_dictionaries({}, optional={k: json_values for k in KEYS})


def encoded(value: object, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")  # raw surrogates: not valid UTF-8


nested = st.integers(100, 60_000).map(lambda n: b"[" * n + b"]" * (n % 3))
raw_bodies = st.binary(max_size=300) | nested | st.integers(0, 3 * MAX_BODY).map(lambda n: b"x" * n)
bodies = (
    st.builds(encoded, objects | json_values, st.booleans())
    | raw_bodies
    | st.sampled_from([b"", b"[]", b"0", b"null", b"{}", b'"\\ud800"', b"1e999999"])
)
FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(route=st.sampled_from(BODY_ROUTES), body=bodies, name=texts)
def test_random_bodies_at_every_body_route_get_a_4xx_sentence(
    live: Live, route: tuple[str, str], body: bytes, name: str
) -> None:
    method, template = route
    call(live, method, path_for(template, "ab", "1", name or "v"), body)


@FAST
@given(
    route=st.sampled_from(ROUTES),
    hex_id=st.text("0123456789abcdefg", min_size=1, max_size=80),
    digits=st.integers(0, 2**200).map(str),
    name=texts,
    auth=st.booleans(),
)
def test_random_paths_and_ids_at_every_route_get_a_4xx_sentence(
    live: Live, route: tuple[str, str], hex_id: str, digits: str, name: str, auth: bool
) -> None:
    method, template = route
    call(live, method, path_for(template, hex_id, digits, name or "v"), b"{}", auth)


@settings(max_examples=100, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"G\x00T", b"\x16\x03\x01", b"BREW"]),
    target=st.binary(min_size=0, max_size=200) | st.integers(0, 20_000).map(lambda n: b"/" * n),
    headers=st.lists(
        st.tuples(st.binary(min_size=0, max_size=20), st.binary(max_size=100)), max_size=5
    ),
    many=st.sampled_from([0, 0, 200, 2000]),
)
def test_random_request_heads_get_a_json_400_from_the_parser(
    live: Live, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], many: int
) -> None:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: x"]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"X-%d: y" % i for i in range(many)]
    raw(live, b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n")


# The audit's cases, each by name.

DEEP = b"[" * 30_000


def js(**fields: object) -> bytes:
    return json.dumps(fields).encode()  # ASCII: a lone surrogate is sent as "\\ud800"


DRAW, RATE = ("POST", "/v1/diagrams"), ("PUT", "/v1/ratings")
UNRATE, PROMOTE = ("DELETE", "/v1/ratings"), ("POST", "/v1/admin/models/base/promote")
CASES: dict[str, tuple[str, str, bytes | None]] = {
    "nested JSON": (*DRAW, DEEP),
    "nested JSON in a rating": (*RATE, b'{"user_id": ' + DEEP),
    "surrogate user": (*DRAW, js(user_id="\ud800", description="a 2 3")),
    "surrogate description": (*DRAW, js(user_id="u", description="\ud800")),
    "surrogate PUT": (*RATE, js(user_id="\ud800", diagram_id="ab", score=3)),
    "surrogate DELETE": (*UNRATE, js(user_id="\udfff", diagram_id="ab")),
    "surrogate diagram": (*UNRATE, js(user_id="u", diagram_id="\ud800")),
    "spaces user": (*DRAW, js(user_id="   ", description="a 2 3")),
    "NUL user": (*RATE, js(user_id="u\x00", diagram_id="ab", score=3)),
    "NUL description": (*DRAW, js(user_id="u", description="a\x00b")),
    "zero-width description": (*DRAW, js(user_id="u", description="\u200b\u200b")),
    "promote []": (*PROMOTE, b"[]"),
    "promote 0": (*PROMOTE, b"0"),
    "promote false": (*PROMOTE, b"false"),
    "job id over 64 bits": ("GET", "/v1/admin/jobs/" + "9" * 30, None),
    "job id 2**63": ("GET", f"/v1/admin/jobs/{2**63}", None),
    "huge int": (*RATE, b'{"user_id": "u", "diagram_id": "ab", "score": ' + b"9" * 5000 + b"}"),
    "NaN score": (*RATE, b'{"user_id": "u", "diagram_id": "ab", "score": NaN}'),
}
REFUSED = {"promote []", "promote 0", "promote false"}  # 400, where the audit saw 200


@pytest.mark.parametrize("case", list(CASES))
def test_the_audits_bad_bodies_get_a_4xx_sentence(live: Live, case: str) -> None:
    method, path, body = CASES[case]
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    conn.request(method, path, body=body, headers=AUTH)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    tally(r.status, r.headers.get_content_type(), data)
    assert 400 <= r.status < 500
    if case in REFUSED:
        assert r.status == 400 and "force" in json.loads(data)["error"]
    assert_log_clean(live)


BEARER = b"Authorization: Bearer " + SECRET.encode()
HEADS = {
    "URL over 8 KB": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "2,000 headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    + b"".join(b"X-%d: y\r\n" % i for i in range(2000))
    + b"\r\n",
    "Authorization over 8 KB": b"GET /v1/stats HTTP/1.1\r\nHost: x\r\n"
    + BEARER
    + b"x" * 9000
    + b"\r\n\r\n",
    "secret in a bad request line": b"Bearer " + SECRET.encode() + b" nonsense\r\n\r\n",
    "TLS on the HTTP port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),
    "bad chunked body": b"POST /v1/diagrams HTTP/1.1\r\nHost: x\r\n"
    + BEARER
    + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


@pytest.mark.parametrize("case", list(HEADS))
def test_what_the_parser_refuses_gets_a_json_400_without_echo(live: Live, case: str) -> None:
    response = raw(live, HEADS[case])
    assert response.startswith(b"HTTP/1.") and b" 400 " in response.split(b"\r\n")[0]
    assert SECRET.encode() not in response and b"Bearer" not in response.partition(b"\r\n\r\n")[2]
    assert_log_clean(live)


def test_a_body_that_stops_half_way_gets_408_and_the_connection_closes(live: Live) -> None:
    start = b"POST /v1/diagrams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + SECRET.encode()
    start += b"\r\nContent-Length: 100\r\n\r\n" + b'{"user_id": "u", '
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(start)
        response = b""
        while chunk := sock.recv(65536):  # ends: the engine closes it (a timeout raises)
            response += chunk
    assert b" 408 " in response.split(b"\r\n")[0]
    assert json.loads(response.partition(b"\r\n\r\n")[2]) == {
        "error": "the body did not arrive within 1 s"
    }
    tally(408, "application/json", response.partition(b"\r\n\r\n")[2])


def test_a_request_head_that_never_ends_is_closed(live: Live) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed (a timeout would raise)
    assert time.monotonic() - started < 5.0


def test_the_log_has_no_traceback_and_no_secret_after_all_of_it(live: Live) -> None:
    assert TALLY["tried"] > 0
    assert_log_clean(live)
    assert TALLY["clean"] == TALLY["tried"]
