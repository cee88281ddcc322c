"""The fair micro-batching queue: turn order, batching, limits, positions, cancellation."""

import asyncio
from collections.abc import Callable

import pytest

from engine.service.queue import FairBatchQueue, QueueClosed, QueueFull, Ticket


class Runner:
    """Runs batches for real (upper-cases each payload), records them, and can be held."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.saw_cancelled: list[str] = []
        self.fail_next = False

    async def __call__(self, tickets: list[Ticket[str]], release: Callable[[], None]) -> list[str]:
        self.batches.append([t.payload for t in tickets])
        await self.gate.wait()
        self.saw_cancelled += [t.payload for t in tickets if t.cancelled]
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("generation failed")
        return [t.payload.upper() for t in tickets]


def make(runner: Runner, **kw: float) -> FairBatchQueue[str, str]:
    options = dict(
        max_pending=100, max_per_user=100, inflight_per_user=100, window_s=0.0, max_batch_size=1
    )
    queue: FairBatchQueue[str, str] = FairBatchQueue(runner, **(options | kw))
    queue.start()
    return queue


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never became true")


async def test_a_released_batch_lets_the_next_one_start_before_it_ends() -> None:
    finishing = asyncio.Event()
    started: list[list[str]] = []

    async def runner(tickets: list[Ticket[str]], release: Callable[[], None]) -> list[str]:
        started.append([t.payload for t in tickets])
        release()  # the model part is done; the rest waits at `finishing`
        release()  # twice is harmless
        await finishing.wait()
        return [t.payload.upper() for t in tickets]

    queue: FairBatchQueue[str, str] = FairBatchQueue(
        runner, max_pending=10, max_per_user=10, inflight_per_user=1, window_s=0.0,
        max_batch_size=1,
    )  # fmt: skip
    queue.start()
    tasks = [asyncio.create_task(queue.submit(u, p)) for u, p in [("a", "a1"), ("b", "b1")]]
    tasks.append(asyncio.create_task(queue.submit("a", "a2")))
    await until(lambda: started == [["a1"], ["b1"]])
    # a2 waits: a is at its in-flight limit until a1 has really finished, released or not.
    assert queue.running == 2 and queue.depth == 1
    finishing.set()
    assert [await t for t in tasks] == ["A1", "B1", "A2"]
    assert started == [["a1"], ["b1"], ["a2"]]
    await queue.stop()


async def test_users_take_turns_so_a_burst_does_not_starve_others() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner)
    first = asyncio.create_task(queue.submit("a", "a1"))
    await until(lambda: runner.batches == [["a1"]])  # running, held at the gate
    rest = [("a", f"a{i}") for i in range(2, 7)] + [("b", "b1"), ("b", "b2"), ("c", "c1")]
    tasks = [asyncio.create_task(queue.submit(u, p)) for u, p in rest]
    await until(lambda: queue.depth == len(rest))
    runner.gate.set()
    assert [await t for t in [first, *tasks]] == [p.upper() for p in ["a1"] + [p for _, p in rest]]
    order = [b[0] for b in runner.batches]
    assert order == ["a1", "a2", "b1", "c1", "a3", "b2", "a4", "a5", "a6"]
    await queue.stop()


async def test_requests_arriving_together_share_one_batch_up_to_its_size() -> None:
    runner = Runner()
    queue = make(runner, window_s=0.05, max_batch_size=10)
    got = await asyncio.gather(*(queue.submit(f"u{i}", f"p{i}", size=2) for i in range(8)))
    assert got == [f"P{i}" for i in range(8)]
    assert [len(b) for b in runner.batches] == [5, 3]  # 5 x 2 candidates fill a batch of 10
    assert queue.batches == 2 and queue.batched_requests == 8
    await queue.stop()


async def test_one_user_has_at_most_m_requests_running() -> None:
    runner = Runner()
    queue = make(runner, window_s=0.05, max_batch_size=100, inflight_per_user=2)
    await asyncio.gather(*(queue.submit("a", f"a{i}") for i in range(5)), queue.submit("b", "b"))
    for batch in runner.batches:
        assert sum(p.startswith("a") for p in batch) <= 2
    assert runner.batches[0] == ["a0", "b", "a1"]
    await queue.stop()


async def test_a_full_queue_refuses_at_once_with_position_and_retry_after() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner, max_pending=3, max_per_user=2)
    running = asyncio.create_task(queue.submit("a", "a0"))
    await until(lambda: len(runner.batches) == 1)
    waiting = [asyncio.create_task(queue.submit(u, u)) for u in ("a", "b", "c")]
    await until(lambda: queue.depth == 3)
    with pytest.raises(QueueFull) as full:
        await queue.submit("d", "d")
    assert full.value.position == 4 and full.value.retry_after >= 1
    runner.gate.set()
    await asyncio.gather(running, *waiting)
    runner.gate.clear()
    held = asyncio.create_task(queue.submit("x", "x"))
    await until(lambda: len(runner.batches) == 5)
    mine = [asyncio.create_task(queue.submit("a", f"a{i}")) for i in (1, 2)]
    await until(lambda: queue.depth == 2)
    with pytest.raises(QueueFull, match="already have 2"):  # per-user limit, room left overall
        await queue.submit("a", "a3")
    runner.gate.set()
    await asyncio.gather(held, *mine)
    await queue.stop()


async def test_waiting_requests_hear_their_position_fall_then_generating() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner)
    heard: list[dict] = []
    first = asyncio.create_task(queue.submit("a", "a"))
    await until(lambda: len(runner.batches) == 1)
    others = [asyncio.create_task(queue.submit(u, u)) for u in ("b", "c")]
    mine = asyncio.create_task(queue.submit("d", "d", on_event=heard.append))
    await until(lambda: queue.depth == 3)
    runner.gate.set()
    await asyncio.gather(first, *others, mine)
    assert heard == [
        {"event": "queued", "position": 3},
        {"event": "queued", "position": 2},
        {"event": "queued", "position": 1},
        {"event": "generating"},
    ]
    await queue.stop()


async def test_a_cancelled_waiting_request_leaves_the_queue_and_never_runs() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner)
    first = asyncio.create_task(queue.submit("a", "a"))
    await until(lambda: len(runner.batches) == 1)
    gone = asyncio.create_task(queue.submit("b", "b"))
    heard: list[dict] = []
    stays = asyncio.create_task(queue.submit("c", "c", on_event=heard.append))
    await until(lambda: queue.depth == 2)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert queue.depth == 1 and heard[-1] == {"event": "queued", "position": 1}
    runner.gate.set()
    assert await asyncio.gather(first, stays) == ["A", "C"]
    assert [b[0] for b in runner.batches] == ["a", "c"]
    await queue.stop()


async def test_a_request_cancelled_while_running_is_marked_and_others_get_answers() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner, window_s=0.05, max_batch_size=10)
    gone = asyncio.create_task(queue.submit("a", "a"))
    stays = asyncio.create_task(queue.submit("b", "b"))
    await until(lambda: len(runner.batches) == 1)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    runner.gate.set()
    assert await stays == "B"
    assert runner.saw_cancelled == ["a"] and queue.running == 0


async def test_a_failing_batch_fails_its_requests_and_the_queue_goes_on() -> None:
    runner = Runner()
    runner.fail_next = True
    queue = make(runner, window_s=0.05, max_batch_size=10)
    results = await asyncio.gather(
        queue.submit("a", "a"), queue.submit("b", "b"), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await queue.submit("a", "again") == "AGAIN"
    await queue.stop()


async def test_stopping_fails_waiting_requests_and_refuses_new_ones() -> None:
    runner = Runner()
    runner.gate.clear()
    queue = make(runner)
    running = asyncio.create_task(queue.submit("a", "a"))
    await until(lambda: len(runner.batches) == 1)
    waiting = asyncio.create_task(queue.submit("b", "b"))
    await until(lambda: queue.depth == 1)
    stopping = asyncio.create_task(queue.stop())
    with pytest.raises(QueueClosed):
        await waiting
    runner.gate.set()
    await stopping
    assert await running == "A"  # the running batch was allowed to finish
    with pytest.raises(QueueClosed):
        await queue.submit("c", "c")
