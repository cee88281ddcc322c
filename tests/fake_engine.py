"""A fake engine on 127.0.0.1: the HTTP contract of docs/api.md with canned answers.

The bot's tests drive it: `hold` paces the streamed events (one event per item put in it),
`fail_with` ends the next stream with an error event, `refuse` answers the next diagram
request with a plain HTTP error, `slow` delays one call, `finish_job` ends an admin job.
The PNGs are real renders of real sketches (engine/diagram), so what the bot uploads is
what the engine would send; POST /v1/render reads, validates and renders with the real code
too. GET /v1/diagrams/{id} (and .svg) answer from `stored`, which tests may change.
Everything it was asked is in `calls`; its ratings in `ratings`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

BODY = web.RequestKey("body", object)
SECRET = "engine-secret-for-tests"
SKETCHES = ("layers: 2 3 1", "layers: 2 4 1\nshape: rectangle 40x30", "steps: load | train | test")
MAX_CHARS = 1000


@functools.cache
def canned() -> list[tuple[str, str, bytes]]:
    """(sketch, node list, PNG) of each canned diagram, drawn by the real renderer."""
    from engine.diagram.read import to_diagram
    from engine.diagram.render import render
    from engine.diagram.text import to_text

    out = []
    for sketch in SKETCHES:
        diagram = to_diagram(sketch).diagram
        out.append((sketch, to_text(diagram), render(diagram)))
    return out


def preview(png: bytes) -> bytes:
    """The engine's preview of a render (the real crop, engine/diagram/render.py)."""
    from engine.diagram.render import preview_png

    return preview_png(png)


class FakeEngine:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.ratings: dict[tuple[str, str], int] = {}
        self.diagrams: set[str] = set()
        self.stored: dict[str, dict[str, Any]] = {}  # GET /v1/diagrams/{id}, by id
        self.jobs: dict[int, dict[str, Any]] = {}
        self.hold: asyncio.Queue[None] | None = None
        self.fail_with: dict[str, Any] | None = None
        self.refuse: tuple[int, dict[str, Any]] | None = None
        self.queue_positions = (2, 1)
        self.slow: dict[str, float] = {}  # "PUT /v1/ratings" -> seconds, one shot
        self.ids = itertools.count(1)

    async def start(self, port: int = 0) -> FakeEngine:
        app = web.Application(middlewares=[self._auth])
        app.add_routes(
            [
                web.get("/healthz", self.healthz),
                web.post("/v1/diagrams", self.post_diagrams),
                web.post("/v1/render", self.post_render),
                web.get(r"/v1/diagrams/{id:[0-9a-f]{1,64}}.svg", self.get_svg),
                web.get(r"/v1/diagrams/{id:[0-9a-f]{1,64}}", self.get_diagram),
                web.put("/v1/ratings", self.put_rating),
                web.delete("/v1/ratings", self.delete_rating),
                web.post("/v1/admin/retrain", self.retrain),
                web.get("/v1/admin/jobs", self.get_jobs),
                web.get(r"/v1/admin/jobs/{id:\d+}", self.get_job),
                web.get("/v1/admin/models", self.models),
                web.post("/v1/admin/models/rollback", self.rollback),
                web.post("/v1/admin/models/{version}/promote", self.promote),
                web.get("/v1/stats", self.stats),
            ]
        )
        self.server = TestServer(app, port=port)
        await self.server.start_server()
        self.url = str(self.server.make_url("")).rstrip("/")
        return self

    async def close(self) -> None:
        await self.server.close()

    def paths(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.calls.append(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "json": body,
                "ref": request.headers.get("X-Request-Id"),
                "t": time.monotonic(),
            }
        )
        if (
            request.path != "/healthz"
            and request.headers.get("Authorization") != f"Bearer {SECRET}"
        ):
            return web.json_response({"error": "missing or wrong shared secret"}, status=401)
        request[BODY] = body
        if (pause := self.slow.pop(f"{request.method} {request.path}", None)) is not None:
            await asyncio.sleep(pause)
        return await handler(request)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "model_version": "base"})

    async def post_diagrams(self, request: web.Request) -> web.StreamResponse:
        body = request[BODY]
        if self.refuse is not None:
            (status, answer), self.refuse = self.refuse, None
            return web.json_response(answer, status=status)
        if len(body["description"]) > MAX_CHARS:
            text = f"description is {len(body['description'])} characters long; the limit is 1000"
            return web.json_response({"error": text}, status=400)
        assert request.query.get("stream") == "1", "the bot always streams"
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        events: list[dict[str, Any]] = [
            {"event": "queued", "position": p} for p in self.queue_positions
        ]
        events += [{"event": "generating"}, {"event": "ranking"}]
        if self.fail_with is not None:
            events.append({"event": "error", **self.fail_with})
            self.fail_with = None
        else:
            events.append({"event": "done", **self.answer(body)})
        for event in events:
            if self.hold is not None:
                await self.hold.get()
            await response.write(json.dumps(event).encode() + b"\n")
        await response.write_eof()
        return response

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for rank, (sketch, node_list, png) in enumerate(canned()[: body["top"]], 1):
            diagram_id = f"{next(self.ids):016x}"
            self.keep(diagram_id, sketch, node_list, True, body["description"], "base")
            results.append(
                {
                    "id": diagram_id,
                    "rank": rank,
                    "png_url": f"/v1/diagrams/{diagram_id}.png",
                    "png_base64": base64.b64encode(png).decode(),
                    "preview_base64": base64.b64encode(preview(png)).decode(),
                    "text": node_list,
                    "sketch": sketch,
                    "valid": True,
                    "readability": 0.9 - rank / 10,
                    "cnn_readability": 4.0,
                    "expected_rating": 4.2 - rank / 2,
                    "confidence": 0.3,
                    "fidelity": 1.0,
                    "fidelity_exact": True,
                }
            )
        request_id = f"req{next(self.ids)}"
        return {
            "request_id": request_id,
            "model_version": "base",
            "spec": None,
            "results": results,
            "timings": {},
        }

    def keep(
        self, diagram_id: str, sketch: str, node_list: str, valid: bool, description: str, v: str
    ) -> None:
        self.diagrams.add(diagram_id)
        self.stored[diagram_id] = {
            "id": diagram_id,
            "sketch": sketch,
            "text": node_list,
            "valid": valid,
            "description": description,
            "model_version": v,
            "problems": [],
        }

    async def post_render(self, request: web.Request) -> web.Response:
        """As the engine's route: the real reader, validator and renderer; no store."""
        from engine.diagram.model import DiagramError
        from engine.diagram.read import to_diagram
        from engine.diagram.render import render
        from engine.diagram.text import to_text
        from engine.diagram.validate import validate

        body = request[BODY]
        if self.refuse is not None:
            (status, answer), self.refuse = self.refuse, None
            return web.json_response(answer, status=status)
        try:
            result = to_diagram(body["text"])
        except DiagramError as e:
            return web.json_response({"error": f"the text cannot be drawn: {e}"}, status=400)
        problems = [p.why for p in result.problems + validate(result.diagram)]
        diagram_id = f"{next(self.ids):016x}"
        node_list = to_text(result.diagram)
        valid = not validate(result.diagram)
        self.keep(diagram_id, body["text"], node_list, valid, body["description"], "render")
        png = render(result.diagram)
        result_json = {
            "id": diagram_id,
            "rank": 1,
            "png_url": f"/v1/diagrams/{diagram_id}.png",
            "png_base64": base64.b64encode(png).decode(),
            "text": node_list,
            "sketch": body["text"],
            "valid": valid,
            "readability": 0.8,
            "cnn_readability": None,
            "expected_rating": None,
            "confidence": None,
            "fidelity": None,
            "fidelity_exact": None,
        }
        return web.json_response(
            {
                "request_id": f"req{next(self.ids)}",
                "model_version": "render",
                "spec": None,
                "results": [result_json],
                "timings": {},
                "problems": problems,
            }
        )

    async def get_diagram(self, request: web.Request) -> web.Response:
        diagram_id = request.match_info["id"]
        if diagram_id not in self.diagrams or diagram_id not in self.stored:
            return web.json_response({"error": "no such diagram"}, status=404)
        return web.json_response(self.stored[diagram_id])

    async def get_svg(self, request: web.Request) -> web.Response:
        from engine.diagram.parse import parse
        from engine.diagram.svg import render_svg

        stored = self.stored.get(request.match_info["id"])
        if stored is None:
            return web.json_response({"error": "no such diagram image"}, status=404)
        svg = render_svg(parse(stored["text"]).diagram)
        return web.Response(text=svg, content_type="image/svg+xml")

    async def put_rating(self, request: web.Request) -> web.Response:
        b = request[BODY]
        if b["diagram_id"] not in self.diagrams:
            return web.json_response({"error": "no such diagram"}, status=404)
        self.ratings[(b["user_id"], b["diagram_id"])] = b["score"]
        return web.json_response(b)

    async def delete_rating(self, request: web.Request) -> web.Response:
        b = request[BODY]
        deleted = self.ratings.pop((b["user_id"], b["diagram_id"]), None) is not None
        return web.json_response({"deleted": deleted})

    async def retrain(self, request: web.Request) -> web.Response:
        job_id = len(self.jobs) + 1
        self.jobs[job_id] = {
            "id": job_id,
            "what": request[BODY]["what"],
            "status": "running",
            "started": 1.7e9,
            "finished": None,
            "result": None,
            "error": None,
        }
        return web.json_response({"job_id": job_id}, status=202)

    def finish_job(self, job_id: int, result: Any = "pairs: 12") -> None:
        self.jobs[job_id] |= {"status": "done", "finished": 1.7e9 + 60, "result": result}

    async def get_jobs(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.jobs.values())[::-1])

    async def get_job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(int(request.match_info["id"]))
        if job is None:
            return web.json_response({"error": "no such job"}, status=404)
        return web.json_response(job)

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(
            [
                {
                    "version": "base",
                    "created": 1.7e9,
                    "metrics": None,
                    "promoted": None,
                    "serving": True,
                }
            ]
        )

    async def promote(self, request: web.Request) -> web.Response:
        version = request.match_info["version"]
        if version != "base":
            return web.json_response({"error": "no such model version"}, status=404)
        return web.json_response({"serving": version})

    async def rollback(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"error": "nothing to roll back: the built-in model is being served"}, status=409
        )

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "queue_depth": 0,
                "requests": {"total": 3},
                "latency_ms": {"p50": 120.0, "p95": 300.0},
                "ratings": len(self.ratings),
                "users": 1,
                "model_version": "base",
            }
        )
