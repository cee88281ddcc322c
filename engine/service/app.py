"""The HTTP API of docs/api.md: an aiohttp application over the Engine.

Handlers only parse, call the engine and shape JSON; every refusal is a ServiceError that
the error middleware turns into `{"error": ...}` with its status. Bodies larger than
max_body_bytes are refused by aiohttp itself while reading (413), bodies that do not arrive
within body_timeout_s with 408; what aiohttp's parser refuses before any handler runs is
answered in the same JSON by protocol.JsonErrorHandler. A failure that is not the client's
gets a reference, logged with the cause, never the cause itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from engine.diagram.parse import parse
from engine.diagram.svg import render_svg
from engine.service import stats
from engine.service.auth import secret_middleware
from engine.service.backend import Backend, Trainer
from engine.service.config import Settings
from engine.service.engine import Engine
from engine.service.errors import ServiceError, bad_request, not_found
from engine.service.protocol import EngineRunner
from engine.service.scheduler import JobBusy
from engine.service.validation import (
    DiagramRequest,
    diagram_request,
    rating_request,
    render_request,
    retrain_request,
)

log = logging.getLogger(__name__)
ENGINE = web.AppKey("engine", Engine)
MAX_ROWID = 2**63 - 1  # SQLite's integers: a larger job id cannot exist
# After an early answer (408, 413), aiohttp reads what is left of the body for this long
# before it closes the connection (its default is 10 s).
LINGERING_S = 2.0
KEEPALIVE_S = 75.0  # an idle connection is closed after this long (run_app's default)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(settings: Settings, backend: Backend, trainer: Trainer) -> web.Application:
    engine = Engine(settings, backend, trainer)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[_errors(settings), secret_middleware(settings.secret.get_secret_value())],
        handler_args={"lingering_time": LINGERING_S},
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
            web.post("/v1/render", post_render),
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
        except sqlite3.DatabaseError as e:  # disk full, read-only, damaged under us
            ref = secrets.token_hex(4)
            what = f"{request.method} {request.path}"
            log.error("%s: the store failed (reference %s): %r", what, ref, e)
            why = f"the engine could not use its store (reference {ref}); try again later"
            return web.json_response({"error": why, "reference": ref}, status=503)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("%s %s failed (reference %s)", request.method, request.path, ref)
            why = f"internal error (reference {ref})"
            return web.json_response({"error": why, "reference": ref}, status=500)

    return errors


async def read_json(request: web.Request) -> Any:
    """The body's JSON, None when there is none; 408 when it does not arrive in time."""
    limit = request.app[ENGINE].settings.body_timeout_s
    try:
        async with asyncio.timeout(limit):
            raw = await request.read()
    except TimeoutError:
        raise ServiceError(408, f"the body did not arrive within {limit:g} s") from None
    except HttpProcessingError:  # a broken chunked encoding or compression
        raise bad_request("the body is not valid HTTP (its encoding is broken)") from None
    if not raw:
        return None
    try:
        return json.loads(raw)
    except RecursionError:
        raise bad_request("the body is nested too deeply") from None
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


async def post_render(request: web.Request) -> web.Response:
    """A person's sketch or node list drawn as a new diagram of theirs; no model, no queue."""
    engine = request.app[ENGINE]
    req = render_request(await read_json(request), engine.settings)
    return web.json_response(await engine.render(req))


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
            ref = secrets.token_hex(4)
            log.exception("streamed request failed (reference %s)", ref)
            why = f"internal error (reference {ref})"
            await _line(response, {"event": "error", "status": 500, "error": why, "reference": ref})
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
    job_id = int(request.match_info["id"])
    job = None if job_id > MAX_ROWID else await request.app[ENGINE].db.jobs.get(job_id)
    if job is None:
        raise not_found("job")
    return web.json_response(job)


async def get_models(request: web.Request) -> web.Response:
    return web.json_response(await request.app[ENGINE].db.models.all())


async def post_promote(request: web.Request) -> web.Response:
    body = await read_json(request)
    body = {} if body is None else body  # no body at all; [] or 0 is a wrong one
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
    asyncio.run(_serve(create_app(settings, backend, trainer), settings))


async def _serve(app: web.Application, settings: Settings) -> None:
    # handler_cancellation: a caller that goes away withdraws its request.
    runner = EngineRunner(
        app, handler_cancellation=True, access_log=None, keepalive_timeout=KEEPALIVE_S
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()  # starts the engine; a damaged store raises StoreDamaged here
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("Running on http://%s:%s", settings.host, settings.port)
        await stop.wait()
    finally:
        await runner.cleanup()  # stops the engine, even when the start failed half way
