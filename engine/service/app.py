"""The HTTP API of docs/api.md: an aiohttp application over the Engine.

Handlers only parse, call the engine and shape JSON; every refusal is a ServiceError that
the error middleware turns into `{"error": ...}` with its status. Bodies larger than
max_body_bytes are refused by aiohttp itself while reading (413).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.service import stats
from engine.service.auth import secret_middleware
from engine.service.backend import Backend, Trainer
from engine.service.config import Settings
from engine.service.engine import Engine
from engine.service.errors import ServiceError, bad_request, not_found
from engine.service.scheduler import JobBusy
from engine.service.validation import (
    DiagramRequest,
    diagram_request,
    rating_request,
    retrain_request,
)

log = logging.getLogger(__name__)
ENGINE = web.AppKey("engine", Engine)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings, backend: Backend, trainer: Trainer) -> web.Application:
    engine = Engine(settings, backend, trainer)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_errors(settings), secret_middleware(settings.secret)],
    )
    app[ENGINE] = engine

    async def start(_: web.Application) -> None:
        await engine.start()

    async def stop_serving(_: web.Application) -> None:
        await engine.stop_serving()

    async def stop(_: web.Application) -> None:
        await engine.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop_serving)
    app.on_cleanup.append(stop)
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.post("/v1/diagrams", post_diagram),
            web.get(r"/v1/diagrams/{id:[0-9a-f]{1,64}}.png", get_png),
            web.get(r"/v1/diagrams/{id:[0-9a-f]{1,64}}.svg", get_svg),
            web.get(r"/v1/diagrams/{id:[0-9a-f]{1,64}}", get_diagram),
            web.put("/v1/ratings", put_rating),
            web.delete("/v1/ratings", delete_rating),
            web.post("/v1/admin/retrain", post_retrain),
            web.get("/v1/admin/jobs", get_jobs),
            web.get(r"/v1/admin/jobs/{id:\d+}", get_job),
            web.get("/v1/admin/models", get_models),
            web.post("/v1/admin/models/rollback", post_rollback),
            web.post("/v1/admin/models/{version}/promote", post_promote),
            web.get("/v1/stats", get_stats),
        ]
    )
    return app


def _errors(settings: Settings) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ServiceError as e:
            return web.json_response(e.body(), status=e.status, headers=e.headers)
        except web.HTTPRequestEntityTooLarge:
            limit = settings.max_body_bytes
            return web.json_response({"error": f"the body is over {limit} bytes"}, status=413)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            return web.json_response({"error": e.reason}, status=e.status)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return web.json_response({"error": "internal error"}, status=500)

    return errors


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the body is not valid JSON") from None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response(
        {"ok": True, "model_version": request.app[ENGINE].backend.model_version}
    )


async def post_diagram(request: web.Request) -> web.StreamResponse:
    engine = request.app[ENGINE]
    req = diagram_request(await read_json(request), engine.settings)
    if (why := engine.backend.refuse(req.description)) is not None:
        raise bad_request(why)
    if request.query.get("stream") in ("1", "true"):
        return await _stream(request, engine, req)
    return web.json_response(await engine.draw(req))


async def _stream(request: web.Request, engine: Engine, req: DiagramRequest) -> web.StreamResponse:
    """NDJSON: queue positions and stages as they happen, then "done" or "error"."""
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    task = asyncio.create_task(engine.draw(req, events.put_nowait))
    task.add_done_callback(lambda _: events.put_nowait(None))
    try:
        while (event := await events.get()) is not None:
            await _line(response, event)
        try:
            await _line(response, {"event": "done", **task.result()})
        except ServiceError as e:
            await _line(response, {"event": "error", "status": e.status, **e.body()})
        except Exception:
            log.exception("streamed request failed")
            await _line(response, {"event": "error", "status": 500, "error": "internal error"})
    finally:
        if not task.done():  # the caller went away: withdraw the request
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    await response.write_eof()
    return response


async def _line(response: web.StreamResponse, event: dict[str, Any]) -> None:
    await response.write(json.dumps(event).encode() + b"\n")


async def get_diagram(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ENGINE].diagram(request.match_info["id"]))


async def get_png(request: web.Request) -> web.Response:
    png = await request.app[ENGINE].png(request.match_info["id"])
    # Content-addressed and never rewritten: caches may keep it forever.
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    return web.Response(body=png, content_type="image/png", headers=headers)


async def get_svg(request: web.Request) -> web.Response:
    """The PNG's drawing as SVG, drawn from the stored node list; 404 when the PNG is (and
    when no node list was kept, which a drawn candidate always has)."""
    from engine.diagram.parse import parse  # the app itself never loads the drawing code
    from engine.diagram.svg import render_svg

    row = await request.app[ENGINE].db.diagrams.get(request.match_info["id"])
    if row is None or row["image"] is None or not row["node_list"]:
        raise not_found("diagram image")
    svg = await asyncio.to_thread(lambda: render_svg(parse(row["node_list"]).diagram))
    # Drawn anew each time, so a renderer update changes it: cached a day, not for ever.
    headers = {"Cache-Control": "private, max-age=86400"}
    return web.Response(text=svg, content_type="image/svg+xml", headers=headers)


async def put_rating(request: web.Request) -> web.Response:
    r = rating_request(await read_json(request), removal=False)
    assert r.score is not None
    if not await request.app[ENGINE].db.ratings.upsert(r.user_id, r.diagram_id, r.score):
        raise not_found("diagram")
    return web.json_response({"user_id": r.user_id, "diagram_id": r.diagram_id, "score": r.score})


async def delete_rating(request: web.Request) -> web.Response:
    r = rating_request(await read_json(request), removal=True)
    deleted = await request.app[ENGINE].db.ratings.delete(r.user_id, r.diagram_id)
    return web.json_response({"deleted": deleted})


async def post_retrain(request: web.Request) -> web.Response:
    what = retrain_request(await read_json(request))
    engine = request.app[ENGINE]
    assert engine.jobs is not None
    try:
        job_id = await engine.jobs.start(what, "admin")
    except JobBusy as e:
        raise ServiceError(409, str(e), {"job_id": e.job_id}) from None
    return web.json_response({"job_id": job_id}, status=202)


async def get_jobs(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ENGINE].db.jobs.recent())


async def get_job(request: web.Request) -> web.Response:
    job = await request.app[ENGINE].db.jobs.get(int(request.match_info["id"]))
    if job is None:
        raise not_found("job")
    return web.json_response(job)


async def get_models(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ENGINE].db.models.all())


async def post_promote(request: web.Request) -> web.Response:
    body = await read_json(request) or {}
    if not isinstance(body, dict) or not isinstance(body.get("force", False), bool):
        raise bad_request('the body, if any, must be {"force": true|false}')
    engine = request.app[ENGINE]
    return web.json_response(
        await engine.promote(request.match_info["version"], body.get("force", False))
    )


async def post_rollback(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ENGINE].rollback())


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(await stats.collect(request.app[ENGINE]))


def serve(settings: Settings, backend: Backend, trainer: Trainer) -> None:
    """Run until interrupted (Ctrl-C / SIGTERM), then shut down cleanly."""
    web.run_app(
        create_app(settings, backend, trainer),
        host=settings.host,
        port=settings.port,
        handler_cancellation=True,  # a caller that goes away withdraws its request
        access_log=None,
        print=lambda msg: log.info(msg),
    )
