"""Running rebuilds: on an interval (APScheduler) and on admin demand, never twice at once.

Each kind of job (embeddings, profiles, preferences, cnn, orpo, and "all", which runs four of
them in turn) has at most one run at a time: a claim is taken synchronously, before any
await, so two requests that arrive together cannot both start one. A second request for a
running kind is refused with the running job's id (JobBusy); the interval job is also
max_instances=1 with coalescing, so a slow run is skipped over, not stacked up.
Every run gets a row in the jobs table: queued -> running -> done (result) | failed (error).
After each run the outputs beyond the newest ENGINE_RETRAIN_KEEP of each kind are removed
(retention.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from engine.service.jobs import ALL, BODIES, JobContext
from engine.service.retention import prune_outputs

log = logging.getLogger(__name__)


class JobBusy(Exception):
    def __init__(self, what: str, job_id: int) -> None:
        super().__init__(f"a {what} job is already running (job {job_id})")
        self.job_id = job_id


class JobRunner:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.active: dict[str, int] = {}  # kind -> id of the job running it
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self, what: str, trigger: str = "admin") -> int:
        """Start a job in the background; return its id at once."""
        job_id = await self._claim(what, trigger)
        task = asyncio.create_task(self._run(what, job_id), name=f"job {job_id} {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id

    async def run(self, what: str, trigger: str = "admin") -> int:
        """Run a job to its end; return its id."""
        job_id = await self._claim(what, trigger)
        await self._run(what, job_id)
        return job_id

    def schedule(self, interval_min: float) -> None:
        """Run "all" every interval_min minutes (nothing when 0)."""
        if interval_min <= 0:
            return
        self._scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        self._scheduler.start()
        self._scheduler.add_job(
            self._scheduled,
            "interval",
            minutes=interval_min,
            id="rebuild",
            max_instances=1,
            coalesce=True,
        )

    async def stop(self) -> None:
        """Stop scheduling; a job still running is cut off and recorded as failed at the
        next start (its training thread, if any, finishes on its own)."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _scheduled(self) -> None:
        try:
            await self.run("all", "schedule")
        except JobBusy as e:
            log.info("scheduled rebuild skipped: %s", e)

    async def _claim(self, what: str, trigger: str) -> int:
        if what != "all" and what not in BODIES:
            raise ValueError(f"unknown job kind {what!r}")
        if what in self.active:
            raise JobBusy(what, self.active[what])
        self.active[what] = 0  # claimed before the first await
        try:
            self.active[what] = await self.ctx.store.jobs.create(what, trigger)
        except BaseException:
            del self.active[what]
            raise
        return self.active[what]

    async def _run(self, what: str, job_id: int) -> None:
        jobs = self.ctx.store.jobs
        try:
            await jobs.start(job_id)
            result, errors = await self._body(what, job_id)
            if errors:
                await jobs.fail(job_id, "; ".join(errors), result)
            else:
                await jobs.finish(job_id, result)
        except Exception as e:
            log.exception("job %s (%s) failed", job_id, what)
            await jobs.fail(job_id, f"{type(e).__name__}: {e}")
        finally:
            del self.active[what]
        await self._prune()

    async def _prune(self) -> None:
        s = self.ctx.settings
        try:
            removed = await asyncio.to_thread(prune_outputs, s.data_dir, s.retrain_keep)
        except OSError as e:  # a full or read-only disk must not fail the job that ran
            log.warning("could not remove old rebuild outputs: %r", e)
            return
        if removed:
            log.info("removed %d old rebuild outputs (keeping %d per kind)", len(removed),
                     s.retrain_keep)  # fmt: skip

    async def _body(self, what: str, job_id: int) -> tuple[dict[str, Any], list[str]]:
        if what != "all":
            return await BODIES[what](self.ctx), []
        result: dict[str, Any] = {}
        errors: list[str] = []
        for part in ALL:
            if part in self.active:
                result[part] = {"skipped": f"already running (job {self.active[part]})"}
                continue
            self.active[part] = job_id
            try:
                result[part] = await BODIES[part](self.ctx)
            except Exception as e:
                log.exception("job %s: %s failed", job_id, part)
                result[part] = {"error": f"{type(e).__name__}: {e}"}
                errors.append(f"{part}: {type(e).__name__}: {e}")
            finally:
                del self.active[part]
        return result, errors
