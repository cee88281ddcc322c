"""The running engine: the store, the backend behind the fair queue, the served model version.

Three single-thread executors keep the event loop free: the model thread runs every backend
call that needs the model or swaps what it serves (generation, embeddings, adapter and scorer
swaps, so a swap lands between two batches and never inside one), the scoring thread the
rest of each batch (reading, drawing, scoring, ranking: the next batch generates meanwhile)
and the jobs thread runs training. HTTP handlers call the methods here and turn
ServiceError into responses.

Every request row leaves "queued" however its request ends: answered (done), refused,
timed out, withdrawn, or failed, a failure to store the answer included (the client then
gets 503 with the request id as reference). Only a store that cannot be written at all
leaves it open, and recover() closes it as interrupted at the next start.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from engine.candidate import Candidate
from engine.diagram.metrics import metrics
from engine.diagram.model import DiagramError
from engine.diagram.read import to_diagram
from engine.diagram.render import preview_png, render
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from engine.service.backend import Answer, Ask, Backend, Trainer
from engine.service.config import Settings
from engine.service.errors import ServiceError, not_found
from engine.service.jobs import JobContext
from engine.service.queue import FairBatchQueue, QueueClosed, QueueFull, Ticket
from engine.service.scheduler import JobRunner
from engine.service.validation import DiagramRequest, RenderRequest
from engine.store import Store
from engine.store.diagrams import Answered, NewDiagram
from engine.store.scorers import current_scorers

log = logging.getLogger(__name__)
T = TypeVar("T")
RENDER_VERSION = "render"  # model_version of a diagram drawn from a person's text, no model
RENDERS_AT_ONCE = 2  # POST /v1/render: drawn on the default pool, at most this many at once
RENDERS_WAITING = 16  # more waiting than this: 429
Payload = tuple[str, DiagramRequest]  # (request id, request)
Batched = tuple[str, Answer] | None  # (model version, answer); None for a cancelled request


class Engine:
    def __init__(self, settings: Settings, backend: Backend, trainer: Trainer) -> None:
        self.settings = settings
        self.backend = backend
        self.trainer = trainer
        self.store: Store | None = None
        self.model_thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.scoring_thread = ThreadPoolExecutor(1, thread_name_prefix="scoring")
        self.jobs_thread = ThreadPoolExecutor(1, thread_name_prefix="jobs")
        self.queue: FairBatchQueue[Payload, Batched] | None = None
        self.jobs: JobRunner | None = None
        self.renders = asyncio.Semaphore(RENDERS_AT_ONCE)
        self.renders_waiting = 0
        self.model_busy_s = 0.0  # wall seconds the model thread spent generating batches

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()  # the store's thread would otherwise keep the process alive
            raise

    async def _start(self) -> None:
        self.store = await Store.open(self.settings.data_dir)
        recovered = await self.store.recover()
        if any(recovered.values()):
            log.warning("closed what the last run left open: %s", recovered)
        version, adapter = await self.store.models.serving()
        await self.on_model(self.backend.use_adapter, version, adapter)
        for kind, folder in current_scorers(self.settings.data_dir).items():
            try:
                await self.on_model(self.backend.use_scorer, kind, folder)
            except Exception:  # serve with the shipped scorer rather than not at all
                log.exception("could not load the %s trained in %s", kind, folder)
        s = self.settings
        self.queue = FairBatchQueue(
            self._run_batch,
            max_pending=s.queue_max,
            max_per_user=s.queue_max_per_user,
            inflight_per_user=s.inflight_per_user,
            window_s=s.batch_window_ms / 1000,
            max_batch_size=s.batch_max_candidates,
            max_batches=2,  # one sampling, one being scored: nothing waits outside the queue
        )
        self.queue.start()
        context = JobContext(
            self.db,
            s,
            self.backend,
            self.trainer,
            on_model=self.on_model,
            on_jobs=self.on_jobs,
            promote=self.promote,
        )
        self.jobs = JobRunner(context)
        self.jobs.schedule(s.retrain_interval_min)

    async def stop_serving(self) -> None:
        """Refuse new requests and fail the waiting ones; running batches finish."""
        if self.queue is not None:
            await self.queue.stop()

    async def stop(self) -> None:
        await self.stop_serving()
        if self.jobs is not None:
            await self.jobs.stop()
        await asyncio.to_thread(self.model_thread.shutdown, wait=True)
        await asyncio.to_thread(self.scoring_thread.shutdown, wait=True)
        # A training run cannot be interrupted; the process waits for it at exit, and the
        # jobs table marks it failed at the next start.
        self.jobs_thread.shutdown(wait=False, cancel_futures=True)
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def on_model(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.model_thread, fn, *args)

    async def on_jobs(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.jobs_thread, fn, *args)

    @property
    def db(self) -> Store:
        assert self.store is not None, "the engine is not started"
        return self.store

    # Diagrams

    async def draw(
        self, req: DiagramRequest, on_event: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Queue, generate, store and describe one request's diagrams."""
        request_id = secrets.token_hex(8)
        started = time.monotonic()
        try:
            await self.db.requests.create(
                request_id, req.user_id, req.description, req.candidates, req.top
            )
        except sqlite3.DatabaseError as e:  # nothing was recorded, so nothing is left open
            log.error("request %s: could not record it: %r", request_id, e)
            raise _failure(503, "the engine could not record the request", request_id) from None
        version, answer = await self._generated(request_id, req, on_event)
        answer.timings["wait_and_run_s"] = time.monotonic() - started
        # Shielded: once generated, the diagrams are kept even if the caller goes away now.
        return await asyncio.shield(self._keep(request_id, req, version, answer))

    async def _generated(
        self,
        request_id: str,
        req: DiagramRequest,
        on_event: Callable[[dict[str, Any]], None] | None,
    ) -> tuple[str, Answer]:
        """The request's turn in the queue and its batch's answer; any other outcome closes
        its row and raises."""
        assert self.queue is not None
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                batched = await self.queue.submit(
                    req.user_id, (request_id, req), req.candidates, on_event
                )
        except QueueFull as e:
            await self._close(request_id, "refused", str(e))
            raise ServiceError(
                429,
                str(e),
                {"queue_position": e.position, "retry_after": e.retry_after},
                {"Retry-After": str(e.retry_after)},
            ) from None
        except TimeoutError:
            await self._close(request_id, "timeout")
            limit = self.settings.request_timeout_s
            raise ServiceError(504, f"no answer within {limit:g} s; try again later") from None
        except asyncio.CancelledError:
            await self._close(request_id, "cancelled")
            raise
        except QueueClosed as e:
            await self._close(request_id, "failed", str(e))
            raise ServiceError(503, str(e)) from None
        except Exception as e:
            log.exception("request %s failed", request_id)
            await self._close(request_id, "failed", repr(e))
            raise _failure(500, "generation failed", request_id) from None
        assert batched is not None  # None only for a withdrawn request, whose wait was cancelled
        return batched

    async def _keep(
        self, request_id: str, req: DiagramRequest, version: str, answer: Answer
    ) -> dict[str, Any]:
        """Store the answer; when that fails the row is closed as failed (the transaction
        left nothing half written; an image file written before is an unused orphan)."""
        try:
            return await self._store_answer(request_id, req, version, answer)
        except (OSError, sqlite3.DatabaseError) as e:  # disk full, read-only, ...
            log.error("request %s: could not store its answer: %r", request_id, e)
            await self._close(request_id, "failed", f"not stored: {e!r}")
            raise _failure(503, "the engine could not store the diagrams", request_id) from None
        except Exception as e:
            log.exception("request %s: could not store its answer", request_id)
            await self._close(request_id, "failed", f"not stored: {e!r}")
            raise _failure(500, "internal error", request_id) from None

    async def _close(self, request_id: str, status: str, error: str | None = None) -> None:
        """Record how the request ended; shielded, so a caller's cancellation cannot cut it.
        A store that refuses even this leaves the row to recover() at the next start."""
        try:
            await asyncio.shield(self.db.requests.close(request_id, status, error))
        except (OSError, sqlite3.DatabaseError) as e:
            log.error("request %s: could not record it as %s: %r", request_id, status, e)

    async def _run_batch(
        self, tickets: list[Ticket[Payload]], release: Callable[[], None]
    ) -> list[Batched]:
        """Sample and score the batch's requests; a request withdrawn before its sampling
        costs nothing, one withdrawn before its scoring is not scored (Ask.withdrawn)."""
        read = [(t, await self._ask(t)) for t in tickets if not t.cancelled]
        kept = [(t, a) for t, a in read if not t.cancelled]  # some left while histories were read
        if not kept:
            return [None] * len(tickets)
        live, asks = [t for t, _ in kept], [a for _, a in kept]
        by_id = {t.payload[0]: t for t in live}
        loop = asyncio.get_running_loop()

        def on_stage(request_id: str, stage: str) -> None:
            ticket = by_id.get(request_id)
            if ticket is not None:
                loop.call_soon_threadsafe(ticket.notify, {"event": stage})

        def generate() -> tuple[str, Any]:
            # The version is read on the model thread, so it is the one that ran.
            start = time.perf_counter()
            try:
                return self.backend.model_version, self.backend.generate(asks)
            finally:
                self.model_busy_s += time.perf_counter() - start  # one model thread: no race

        version, generated = await self.on_model(generate)
        release()  # the model is free: the next batch generates while this one is scored
        if all(t.cancelled for t in live):
            return [None] * len(tickets)
        score = self.backend.score
        answers = await loop.run_in_executor(self.scoring_thread, score, asks, generated, on_stage)
        if len(answers) != len(asks):
            raise RuntimeError(f"the backend gave {len(answers)} answers to {len(asks)} asks")
        done = {
            t.payload[0]: (version, a)
            for t, a in zip(live, answers, strict=True)
            if a is not None and not t.cancelled
        }
        return [done.get(t.payload[0]) for t in tickets]

    async def _ask(self, ticket: Ticket[Payload]) -> Ask:
        request_id, req = ticket.payload
        history = await self.db.diagrams.history(req.user_id)
        rated, ratings, readability = history_arrays(history)
        return Ask(
            request_id,
            req.user_id,
            req.description,
            req.candidates,
            req.top,
            rated,
            ratings,
            readability,
            withdrawn=lambda: ticket.cancelled,  # read from the scoring thread: a plain bool
        )

    async def _store_answer(
        self, request_id: str, req: DiagramRequest, version: str, answer: Answer
    ) -> dict[str, Any]:
        # File I/O on the default pool: the jobs thread may be busy training for minutes.
        images = await asyncio.to_thread(_save_images, self.db, answer.candidates)
        rows = _rows(answer.candidates, images, req.top)
        await self.db.diagrams.save_answer(
            request_id, Answered(answer.prompt, answer.spec, version, answer.timings), rows
        )
        shown = sorted(
            (r.rank, r.id, c)
            for c, r in zip(answer.candidates, rows, strict=True)
            if r.rank is not None
        )
        previews = await asyncio.to_thread(
            lambda: [c.png and preview_png(c.png) for *_, c in shown]
        )
        return {
            "request_id": request_id,
            "model_version": version,
            "spec": answer.spec,
            "results": [
                result_json(c, diagram_id, rank, v)
                for (rank, diagram_id, c), v in zip(shown, previews, strict=True)
            ],
            "timings": answer.timings,
        }

    async def render(self, req: RenderRequest) -> dict[str, Any]:
        """Draw a person's sketch or node list, no model involved, and store it as a one-
        candidate request of theirs (so it can be rated); 400 when nothing can be drawn."""
        if self.renders_waiting >= RENDERS_WAITING:
            why = "too many diagrams are being redrawn right now; try again in a second"
            raise ServiceError(429, why, {"retry_after": 1}, {"Retry-After": "1"})
        self.renders_waiting += 1
        try:
            await self.renders.acquire()
        finally:
            self.renders_waiting -= 1
        started = time.monotonic()
        try:
            candidate = await asyncio.to_thread(drawn, req.text)
        finally:
            self.renders.release()
        request_id = secrets.token_hex(8)
        try:
            await self.db.requests.create(request_id, req.user_id, req.description, 1, 1)
        except sqlite3.DatabaseError as e:
            log.error("render %s: could not record it: %r", request_id, e)
            raise _failure(503, "the engine could not record the request", request_id) from None
        answer = Answer("", None, [candidate], {"render_s": time.monotonic() - started})
        as_request = DiagramRequest(req.user_id, req.description, 1, 1)
        kept = await asyncio.shield(self._keep(request_id, as_request, RENDER_VERSION, answer))
        return kept | {"problems": [p.why for p in candidate.problems]}

    async def diagram(self, diagram_id: str) -> dict[str, Any]:
        row = await self.db.diagrams.get(diagram_id)
        if row is None:
            raise not_found("diagram")
        return stored_json(row)

    async def png(self, diagram_id: str) -> bytes:
        digest = await self.db.diagrams.image(diagram_id)
        if digest is None:
            raise not_found("diagram image")
        try:
            return await asyncio.to_thread(self.db.images.load, digest)
        except FileNotFoundError:  # a restore without images/, or a file removed by hand
            log.warning("diagram %s: its image %s is missing from images/", diagram_id, digest)
            raise not_found("diagram image") from None

    # Models

    async def promote(self, version: str, force: bool = False) -> dict[str, Any]:
        row = await self.db.models.get(version)
        if row is None:
            raise not_found("model version")
        if row["gate_passed"] == 0 and not force:
            raise ServiceError(
                409, f"{version} failed the evaluation gate; send force: true to serve it anyway"
            )
        await self.on_model(self.backend.use_adapter, version, row["adapter"])
        await self.db.models.promote(version)
        return {"serving": version}

    async def rollback(self) -> dict[str, Any]:
        previous = await self.db.models.previous()
        if previous is None:
            raise ServiceError(409, "nothing to roll back: the built-in model is being served")
        await self.on_model(self.backend.use_adapter, *previous)
        await self.db.models.rollback()
        return {"serving": previous[0]}


def _failure(status: int, what: str, request_id: str) -> ServiceError:
    """A failure that is not the client's: its request id as reference, not its cause."""
    why = f"{what} (reference {request_id}); try again later"
    return ServiceError(status, why, {"reference": request_id})


def history_arrays(
    history: list[tuple[bytes, int, float | None]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings n x D, scores, CNN readability with NaN for unknown) of a user's ratings.

    Embeddings of another size than the newest (from an older auto-encoder, not yet
    re-embedded) are left out."""
    if not history:
        return np.zeros((0, 0), np.float32), np.zeros(0), np.zeros(0)
    size = len(history[-1][0])
    kept = [h for h in history if len(h[0]) == size]
    rated = np.stack([np.frombuffer(blob, np.float32) for blob, _, _ in kept])
    scores = np.array([score for _, score, _ in kept], dtype=np.float64)
    readability = np.array([np.nan if r is None else r for _, _, r in kept], dtype=np.float64)
    return rated, scores, readability


def drawn(text: str) -> Candidate:
    """A sketch or node list read, validated and rendered (on a worker thread); 400 when it
    cannot be read or holds no node. Valid means no drawing problem; problems lists the
    reading ones too."""
    try:
        result = to_diagram(text)
    except DiagramError as e:
        raise ServiceError(400, f"the text cannot be drawn: {e}") from None
    diagram = result.diagram
    if not diagram.nodes:
        raise ServiceError(400, "the text holds no node to draw")
    found = validate(diagram)
    return Candidate(
        text=text,
        diagram=diagram,
        node_text=to_text(diagram),
        problems=result.problems + found,
        valid=not found,
        metrics=metrics(diagram),
        png=render(diagram),
    )


def _save_images(store: Store, candidates: list[Candidate]) -> list[str | None]:
    return [None if c.png is None else store.images.save(c.png) for c in candidates]


def _rows(candidates: list[Candidate], images: list[str | None], top: int) -> list[NewDiagram]:
    """Database rows; the first `top` candidates that have a picture are the ones shown."""
    rows, shown = [], 0
    for position, (c, image) in enumerate(zip(candidates, images, strict=True)):
        rank = None
        if image is not None and shown < top:
            shown += 1
            rank = shown
        embedding = None if c.embedding is None else np.asarray(c.embedding, np.float32)
        rows.append(
            NewDiagram(
                id=secrets.token_hex(8),
                position=position,
                rank=rank,
                text=c.text,
                node_list=c.node_text or None,
                valid=c.valid,
                natural_stop=c.natural_stop,
                image=image,
                embedding=None if embedding is None else embedding.tobytes(),
                problems=[p.why for p in c.problems],
                **c.scores(),
            )
        )
    return rows


SCORES = ("readability", "cnn_readability", "expected_rating", "confidence", "fidelity")


def result_json(c: Candidate, diagram_id: str, rank: int, preview: bytes | None) -> dict[str, Any]:
    """A shown candidate, stored as `diagram_id`: the whole render (png_base64) and the one
    to post where it is shown small (preview_base64: cropped to the drawing,
    engine/diagram/render.py)."""

    def b64(data: bytes | None) -> str | None:
        return None if data is None else base64.b64encode(data).decode("ascii")

    return {
        "id": diagram_id,
        "rank": rank,
        "png_url": f"/v1/diagrams/{diagram_id}.png",
        "png_base64": b64(c.png),
        "preview_base64": b64(preview),
        "text": c.node_text or None,
        "sketch": c.text,
        "valid": c.valid,
        **c.scores(),
    }


def stored_json(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "request_id": row["request_id"],
        "user_id": row["user_id"],
        "description": row["description"],
        "rank": row["rank"],
        "position": row["position"],
        "png_url": f"/v1/diagrams/{row['id']}.png" if row["image"] else None,
        "text": row["node_list"],
        "sketch": row["text"],
        "valid": bool(row["valid"]),
        "natural_stop": None if row["natural_stop"] is None else bool(row["natural_stop"]),
        **{key: row[key] for key in SCORES},
        "fidelity_exact": None if row["fidelity_exact"] is None else bool(row["fidelity_exact"]),
        "problems": json.loads(row["problems"] or "[]"),
        "model_version": row["model_version"],
        "created": row["created"],
    }
