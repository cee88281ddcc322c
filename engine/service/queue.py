"""A bounded, fair, micro-batching request queue.

Requests wait in one queue per user; users take turns (round robin), so one person's burst
never delays everyone else's next request by more than one turn. A batch is formed when the
oldest waiting request has waited `window_s` (or enough requests are there to fill a batch):
the requests that arrived together then share one generate call. At most `inflight_per_user`
requests of one user run at a time, `max_pending` wait in all and `max_per_user` per user;
beyond that `submit` raises QueueFull at once with the position the request would have had.
`workers` batches hold the model at a time: the runner gets a `release` callback to call
once its model part is done, so the next batch can sample while it finishes the rest. At
most `max_batches` batches are started and unfinished, so work after the model (scoring)
cannot pile up unseen: whatever waits, waits here, counted, bounded and fairly ordered.

The caller owns timeouts: cancel the awaiting `submit` (asyncio.timeout, a client that went
away) and its request leaves the queue, or, already running, is marked cancelled so the batch
runner can skip it. Each waiting request hears its position when it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

P = TypeVar("P")
R = TypeVar("R")
Event = dict[str, Any]


class QueueFull(Exception):
    def __init__(self, position: int, retry_after: int, why: str) -> None:
        super().__init__(why)
        self.position = position
        self.retry_after = retry_after


class QueueClosed(Exception):
    """The engine is shutting down."""


class Ticket(Generic[P]):
    """One request in the queue: its payload, its size (candidates) and its listener."""

    def __init__(
        self, user_id: str, payload: P, size: int, on_event: Callable[[Event], None] | None
    ) -> None:
        self.user_id = user_id
        self.payload = payload
        self.size = size
        self.on_event = on_event
        self.enqueued = time.monotonic()
        self.position = 0
        self.cancelled = False
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def notify(self, event: Event) -> None:
        if self.on_event is not None and not self.cancelled:
            self.on_event(event)


class FairBatchQueue(Generic[P, R]):
    def __init__(
        self,
        run_batch: Callable[[list[Ticket[P]], Callable[[], None]], Awaitable[list[R]]],
        *,
        max_pending: int,
        max_per_user: int,
        inflight_per_user: int,
        window_s: float,
        max_batch_size: int,
        workers: int = 1,
        max_batches: int = 2,
    ) -> None:
        self._run_batch = run_batch
        self.max_pending = max_pending
        self.max_per_user = max_per_user
        self.inflight_per_user = inflight_per_user
        self.window_s = window_s
        self.max_batch_size = max_batch_size
        self.workers = workers
        self.max_batches = max(workers, max_batches)
        self._open_batches = 0  # started and not finished (sampling, or scoring after release)
        self._pending: dict[str, deque[Ticket[P]]] = {}
        self._ring: deque[str] = deque()  # users with waiting requests, next turn first
        self._busy: dict[str, int] = {}  # requests running per user
        self._running = 0
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False
        self._batch_s = 1.0  # moving averages, for Retry-After
        self._batch_len = 1.0
        self.batches = 0
        self.batched_requests = 0

    @property
    def depth(self) -> int:
        """Requests waiting (not yet running)."""
        return sum(len(q) for q in self._pending.values())

    @property
    def running(self) -> int:
        return sum(self._busy.values())

    def start(self) -> None:
        self._dispatcher = asyncio.create_task(self._dispatch(), name="queue dispatcher")

    async def stop(self) -> None:
        """Refuse new requests, fail the waiting ones, let running batches finish."""
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        for queue in self._pending.values():
            for ticket in queue:
                if not ticket.future.done():
                    ticket.future.set_exception(QueueClosed("the engine is shutting down"))
        self._pending.clear()
        self._ring.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def submit(
        self,
        user_id: str,
        payload: P,
        size: int = 1,
        on_event: Callable[[Event], None] | None = None,
    ) -> R:
        """Wait for the request's turn and its batch; return its result."""
        if self._closed:
            raise QueueClosed("the engine is shutting down")
        self._check_room(user_id)
        ticket = Ticket(user_id, payload, size, on_event)
        if user_id not in self._pending:
            self._pending[user_id] = deque()
            self._ring.append(user_id)
        self._pending[user_id].append(ticket)
        self._reposition()
        self._wake.set()
        try:
            return await ticket.future
        except asyncio.CancelledError:
            ticket.cancelled = True
            self._withdraw(ticket)
            raise

    def _check_room(self, user_id: str) -> None:
        mine = len(self._pending.get(user_id, ()))
        if self.depth >= self.max_pending:
            why = f"the queue is full ({self.max_pending} requests waiting)"
        elif mine >= self.max_per_user:
            why = f"you already have {mine} requests waiting"
        else:
            return
        raise QueueFull(self._position_of_new(user_id), self.retry_after(), why)

    def retry_after(self) -> int:
        """Seconds until a place is likely free: batches to drain the queue, times their time."""
        batches = 1 + self.depth / max(1.0, self._batch_len)
        return max(1, min(600, math.ceil(self._batch_s * batches)))

    def _position_of_new(self, user_id: str) -> int:
        """Where one more request of this user would stand in the round-robin order."""
        k = len(self._pending.get(user_id, ()))
        ahead, before = 0, True
        for user in self._ring:
            n = len(self._pending[user])
            if user == user_id:
                before = False
                ahead += k
            else:
                ahead += min(n, k) + (1 if before and n > k else 0)
        return ahead + 1

    def _order(self) -> list[Ticket[P]]:
        """Waiting requests in the order they will run: round k takes each user's k-th."""
        queues = [self._pending[u] for u in self._ring]
        rounds = max((len(q) for q in queues), default=0)
        return [q[k] for k in range(rounds) for q in queues if k < len(q)]

    def _reposition(self) -> None:
        for i, ticket in enumerate(self._order(), start=1):
            if ticket.position != i:
                ticket.position = i
                ticket.notify({"event": "queued", "position": i})

    def _withdraw(self, ticket: Ticket[P]) -> None:
        queue = self._pending.get(ticket.user_id)
        if queue is None or ticket not in queue:
            return  # already running: the batch runner sees ticket.cancelled
        queue.remove(ticket)
        if not queue:
            del self._pending[ticket.user_id]
            self._ring.remove(ticket.user_id)
        self._reposition()

    def _eligible(self) -> list[Ticket[P]]:
        """The next request of each user who may start one more."""
        return [
            self._pending[u][0] for u in self._ring if self._busy.get(u, 0) < self.inflight_per_user
        ]

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._has_room() and (heads := self._eligible()):
                # Micro-batching window: requests that arrive close together share a batch.
                wait = min(t.enqueued for t in heads) + self.window_s - time.monotonic()
                if wait > 0 and sum(t.size for t in heads) < self.max_batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    self._wake.clear()
                    continue
                batch = self._pick()
                self._running += 1
                self._open_batches += 1
                task = asyncio.create_task(self._run(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _has_room(self) -> bool:
        return self._running < self.workers and self._open_batches < self.max_batches

    def _pick(self) -> list[Ticket[P]]:
        """Take requests in round-robin turns until the batch is full or nobody may start.

        A user who gets a turn goes to the back of the ring; one skipped (at their in-flight
        limit, or too big for what is left of the batch) keeps their place for next time.
        """
        batch: list[Ticket[P]] = []
        size = 0
        took = True
        while took and size < self.max_batch_size:
            took = False
            for user in list(self._ring):
                ticket = self._pending[user][0]
                if self._busy.get(user, 0) >= self.inflight_per_user:
                    continue
                if batch and size + ticket.size > self.max_batch_size:
                    continue
                self._pending[user].popleft()
                self._busy[user] = self._busy.get(user, 0) + 1
                self._ring.remove(user)
                if self._pending[user]:
                    self._ring.append(user)
                else:
                    del self._pending[user]
                batch.append(ticket)
                size += ticket.size
                took = True
                if size >= self.max_batch_size:
                    break
        return batch

    async def _run(self, batch: list[Ticket[P]]) -> None:
        for ticket in batch:
            ticket.notify({"event": "generating"})
        self._reposition()
        start = time.monotonic()
        released = False

        def release() -> None:
            """The batch's model part is done: the next batch may start while this one
            finishes (its requests still count against their users' in-flight limit)."""
            nonlocal released
            if not released:
                released = True
                self._running -= 1
                self._wake.set()

        try:
            results = await self._run_batch(batch, release)
            for ticket, result in zip(batch, results, strict=True):
                if not ticket.future.done():
                    ticket.future.set_result(result)
        except Exception as e:
            for ticket in batch:
                if not ticket.future.done():
                    ticket.future.set_exception(e)
        except asyncio.CancelledError:
            for ticket in batch:
                ticket.future.cancel()
            raise
        finally:
            self._batch_s = 0.8 * self._batch_s + 0.2 * (time.monotonic() - start)
            self._batch_len = 0.8 * self._batch_len + 0.2 * len(batch)
            self.batches += 1
            self.batched_requests += len(batch)
            self._open_batches -= 1
            for ticket in batch:
                self._busy[ticket.user_id] -= 1
                if not self._busy[ticket.user_id]:
                    del self._busy[ticket.user_id]
            release()
            self._wake.set()
