"""Admin API: rebuild jobs (never overlapping, never blocking requests), the ORPO loop with its
evaluation gate, promotion and rollback, and the interval scheduler."""

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from engine.service.app import create_app
from engine.service.backend import Skipped
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer

SECRET = "admin-test-secret"
AUTH = {"Authorization": f"Bearer {SECRET}"}
DESCRIPTIONS = [f"a network 2 {3 + i % 3} {1 + i % 2} (#{i})" for i in range(5)]


def settings(data_dir: Path, **overrides: object) -> Settings:
    base = {"secret": SECRET, "data_dir": data_dir, "retrain_interval_min": 0.0}
    return Settings(**(base | {"batch_window_ms": 10.0, "orpo_min_pairs": 5} | overrides))


@asynccontextmanager
async def serving(s: Settings, trainer: DemoTrainer | None = None) -> AsyncIterator[TestClient]:
    app = create_app(s, DemoBackend(), trainer or DemoTrainer())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def call(client: TestClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    r = await client.request(method, path, json=body, headers=AUTH)
    return r.status, await r.json()


async def finished(client: TestClient, job_id: int) -> dict:
    for _ in range(500):
        _, job = await call(client, "GET", f"/v1/admin/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job {job_id} never finished: {job}")


async def draw_all(client: TestClient, user: str, descriptions: int = 5) -> list[dict]:
    """Each description once, all four candidates shown."""
    out = []
    for d in DESCRIPTIONS[:descriptions]:
        body = {"user_id": user, "description": d, "candidates": 4, "top": 4}
        status, answer = await call(client, "POST", "/v1/diagrams", body)
        assert status == 200
        out += answer["results"]
    return out


def share_round(results: list[dict]) -> float:
    return sum("round rectangle" in r["sketch"] for r in results) / len(results)


async def test_ratings_that_prefer_a_trait_teach_it_through_orpo_and_rollback_undoes_it(
    tmp_path: Path,
) -> None:
    async with serving(settings(tmp_path)) as client:
        shown = await draw_all(client, "asker")
        for rater in ("r1",):  # a simulated rater who likes round rectangles
            for r in shown:
                score = 5 if "round rectangle" in r["sketch"] else 1
                rating = {"user_id": rater, "diagram_id": r["id"], "score": score}
                assert (await call(client, "PUT", "/v1/ratings", rating))[0] == 200
        before = share_round(shown)

        status, started = await call(client, "POST", "/v1/admin/retrain", {"what": "orpo"})
        assert status == 202
        job = await finished(client, started["job_id"])
        assert job["status"] == "done" and job["result"]["promoted"], job
        version = job["result"]["version"]
        _, models = await call(client, "GET", "/v1/admin/models")
        new = next(m for m in models if m["version"] == version)
        assert new["serving"] and new["gate_passed"] and new["parent"] == "base"
        quality, baseline = new["metrics"]["quality"], new["metrics"]["baseline"]
        assert quality["share_round_rectangle"] > baseline["share_round_rectangle"] + 0.3
        assert new["metrics"]["preferences"]["rating_pairs"] > 0

        assert (await (await client.get("/healthz")).json())["model_version"] == version
        after = await draw_all(client, "asker")
        assert {r["id"] for r in after}.isdisjoint(r["id"] for r in shown)
        assert share_round(after) > before + 0.3
        _, one = await call(client, "GET", f"/v1/diagrams/{after[0]['id']}")
        assert one["model_version"] == version

        assert await call(client, "POST", "/v1/admin/models/rollback") == (200, {"serving": "base"})
        assert share_round(await draw_all(client, "asker")) == before
        status, refused = await call(client, "POST", "/v1/admin/models/rollback")
        assert status == 409 and "nothing to roll back" in refused["error"]
        path = f"/v1/admin/models/{version}/promote"
        assert await call(client, "POST", path) == (200, {"serving": version})


class WorseTrainer(DemoTrainer):
    """Trains like the demo, but every trained adapter measures less readable."""

    def evaluate(self, adapter: str | None, seed: int = 0) -> dict[str, float]:
        metrics = super().evaluate(adapter, seed)
        return metrics | ({"readability": metrics["readability"] - 0.1} if adapter else {})


async def test_an_adapter_that_fails_the_gate_is_kept_but_not_served(tmp_path: Path) -> None:
    async with serving(settings(tmp_path), WorseTrainer()) as client:
        shown = await draw_all(client, "asker", descriptions=3)
        for r in shown:  # invalid-vs-valid pairs alone would do; ratings add more
            score = 5 if "circle" in r["sketch"] else 2
            await call(
                client,
                "PUT",
                "/v1/ratings",
                {"user_id": "r", "diagram_id": r["id"], "score": score},
            )
        _, started = await call(client, "POST", "/v1/admin/retrain", {"what": "orpo"})
        job = await finished(client, started["job_id"])
        assert job["status"] == "done" and job["result"]["promoted"] is False
        assert any("readability" in why and "worse" in why for why in job["result"]["gate"])
        version = job["result"]["version"]
        _, models = await call(client, "GET", "/v1/admin/models")
        kept = next(m for m in models if m["version"] == version)
        assert kept["gate_passed"] is False and not kept["serving"]
        assert Path(kept["adapter"], "adapter.json").is_file()
        status, refused = await call(client, "POST", f"/v1/admin/models/{version}/promote")
        assert status == 409 and "force" in refused["error"]
        forced = await call(client, "POST", f"/v1/admin/models/{version}/promote", {"force": True})
        assert forced == (200, {"serving": version})
        assert (await call(client, "POST", "/v1/admin/models/nope/promote"))[0] == 404


class HeldTrainer(DemoTrainer):
    """A CNN fine-tune that waits (on the jobs thread) until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def cnn(
        self, samples: list[tuple[Path, float]], base: Path | None, out_dir: Path
    ) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(timeout=30)
        return {"samples_seen": len(samples)}


async def test_jobs_never_overlap_with_themselves_nor_block_requests(tmp_path: Path) -> None:
    trainer = HeldTrainer()
    async with serving(settings(tmp_path), trainer) as client:
        body = {"user_id": "u", "description": "a network 2 2", "candidates": 2, "top": 1}
        _, answer = await call(client, "POST", "/v1/diagrams", body)
        rating = {"user_id": "u", "diagram_id": answer["results"][0]["id"], "score": 4}
        await call(client, "PUT", "/v1/ratings", rating)

        status, first = await call(client, "POST", "/v1/admin/retrain", {"what": "cnn"})
        assert status == 202
        await asyncio.get_running_loop().run_in_executor(None, trainer.entered.wait, 10)
        status, busy = await call(client, "POST", "/v1/admin/retrain", {"what": "cnn"})
        assert status == 409 and busy["job_id"] == first["job_id"]
        status, everything = await call(client, "POST", "/v1/admin/retrain", {"what": "all"})
        assert status == 202
        for _ in range(3):  # the engine answers while the training thread is busy
            assert (await call(client, "POST", "/v1/diagrams", body))[0] == 200
        _, st = await call(client, "GET", "/v1/stats")
        assert st["jobs_running"]["cnn"] == first["job_id"]
        trainer.release.set()
        cnn = await finished(client, first["job_id"])
        assert cnn["status"] == "done" and cnn["result"]["training"] == {"samples_seen": 1}
        combined = await finished(client, everything["job_id"])
        assert combined["status"] == "done"
        assert combined["result"]["cnn"] == {"skipped": f"already running (job {first['job_id']})"}
        assert set(combined["result"]) == {"embeddings", "profiles", "cnn", "orpo"}
        _, jobs = await call(client, "GET", "/v1/admin/jobs")
        assert [j["what"] for j in jobs] == ["all", "cnn"]
        assert (await call(client, "GET", "/v1/admin/jobs/999"))[0] == 404
        status, bad = await call(client, "POST", "/v1/admin/retrain", {"what": "everything"})
        assert status == 400 and "orpo" in bad["error"]


async def test_the_preference_job_writes_trl_pairs(tmp_path: Path) -> None:
    async with serving(settings(tmp_path, preference_margin=2)) as client:
        body = {"user_id": "u", "description": "a network 3 4 2", "candidates": 10, "top": 4}
        _, answer = await call(client, "POST", "/v1/diagrams", body)
        scores = [5, 3, 1, 2]
        for r, score in zip(answer["results"], scores, strict=True):
            rating = {"user_id": "u", "diagram_id": r["id"], "score": score}
            await call(client, "PUT", "/v1/ratings", rating)
        _, started = await call(client, "POST", "/v1/admin/retrain", {"what": "preferences"})
        job = await finished(client, started["job_id"])
        result = job["result"]
        assert result["rating_pairs"] == 4  # 5>3, 5>1, 5>2, 3>1: differences of 2 or more
        assert result["validity_pairs"] == 1  # 2 of 10 cut off, both alike: one pair
        lines = [json.loads(x) for x in Path(result["path"]).read_text().splitlines()]
        assert len(lines) == result["pairs"]
        assert all(set(x) == {"prompt", "chosen", "rejected"} for x in lines)
        assert all(x["prompt"].endswith("a network 3 4 2") for x in lines)
        best, worst = answer["results"][0]["sketch"], answer["results"][2]["sketch"]
        assert any(x["chosen"] == best and x["rejected"] == worst for x in lines)


class NoOrpoTrainer(DemoTrainer):
    def orpo(self, pairs: Path, base_adapter: str | None, out_dir: Path) -> Skipped:
        return Skipped("no ORPO on this machine")


async def test_a_rebuild_the_trainer_does_not_do_is_recorded_as_skipped(tmp_path: Path) -> None:
    async with serving(settings(tmp_path, orpo_min_pairs=1), NoOrpoTrainer()) as client:
        body = {"user_id": "u", "description": "a network 3 4 2", "candidates": 10, "top": 4}
        _, answer = await call(client, "POST", "/v1/diagrams", body)
        for r, score in zip(answer["results"], [5, 3, 1, 2], strict=True):
            await call(client, "PUT", "/v1/ratings", {"user_id": "u", "diagram_id": r["id"],
                                                      "score": score})  # fmt: skip
        jobs = {}
        for what in ("cnn", "orpo"):
            _, started = await call(client, "POST", "/v1/admin/retrain", {"what": what})
            jobs[what] = await finished(client, started["job_id"])
        assert jobs["cnn"]["status"] == "done"  # skipped, not failed
        assert jobs["cnn"]["result"] == {
            "skipped": "the demo scores readability geometrically; it has no CNN"
        }
        assert jobs["orpo"]["status"] == "done"
        assert jobs["orpo"]["result"]["skipped"] == "no ORPO on this machine"
        assert jobs["orpo"]["result"]["preferences"]["pairs"] >= 1
        _, models = await call(client, "GET", "/v1/admin/models")
        assert [m["version"] for m in models] == ["base"]  # nothing trained, nothing added


async def test_the_scheduler_runs_rebuilds_on_its_interval_one_at_a_time(tmp_path: Path) -> None:
    async with serving(settings(tmp_path, retrain_interval_min=0.005)) as client:  # 0.3 s
        for _ in range(300):
            _, jobs = await call(client, "GET", "/v1/admin/jobs")
            if sum(j["status"] == "done" for j in jobs) >= 2:
                break
            await asyncio.sleep(0.02)
        done = sorted((j for j in jobs if j["status"] == "done"), key=lambda j: j["id"])
        assert len(done) >= 2 and {(j["what"], j["trigger"]) for j in done} == {("all", "schedule")}
        for a, b in zip(done, done[1:], strict=False):
            assert b["started"] >= a["finished"]  # never two at once
