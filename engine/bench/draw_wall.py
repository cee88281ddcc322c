"""What a person waits for at the terminal: `diagrammer draw` wall time, whole processes,
with the decoder cache (engine/llm/cache.py) off against on.

- cold: DIAGRAMMER_DECODER_CACHE=0, every run builds the decoder (the GGUF conversion is
  cached either way): what every run after the first paid before the cache;
- first: the first run with the cache on, which builds the decoder and writes the file;
- warm: later runs, which read it.

Cold and warm runs alternate, so load from other processes falls on both alike. Each run is
a fresh `python -m diagrammer.cli draw --json` with a fixed seed; its JSON gives the in-process
stages (load, generation, ranking), the rest of the wall time is imports, start and exit. All
runs must write the same sketches: the cache may not change what is drawn.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.llm.load import cache_root

DESCRIPTION = "an MLP with 3 inputs, two hidden layers of 8 and 4, 2 outputs"


@dataclass
class Run:
    mode: str  # cold | first | warm
    wall_s: float
    load_s: float  # model (or cached decoder) ready, from the command's JSON
    generate_s: float
    rank_s: float  # reading, drawing and ranking the candidates
    rest_s: float  # wall - load - draw: interpreter start, imports, writing, exit
    sketches: list[str]
    cached: bool  # the decoder came from the cache (draw says so)


@dataclass
class DrawReport:
    description: str
    model: str
    adapter: str
    candidates: int
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def of(self, mode: str) -> list[Run]:
        return [r for r in self.runs if r.mode == mode]

    @property
    def same_sketches(self) -> bool:
        return len({tuple(r.sketches) for r in self.runs}) <= 1


def one_run(mode: str, argv: list[str], env: dict[str, str], out: Path) -> Run:
    """One `draw` process; raises with its stderr when it fails."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "diagrammer.cli", "draw", *argv, "--json", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: nothing drawable, still a timed run
        raise RuntimeError(f"draw failed ({done.returncode}):\n{done.stderr[-2000:]}")
    payload = json.loads(done.stdout)
    t = payload["timings"]
    return Run(
        mode=mode,
        wall_s=round(wall, 3),
        load_s=round(t["load"], 3),
        generate_s=round(t["generate"], 3),
        rank_s=round(t["total"] - t["generate"], 3),
        rest_s=round(wall - t["load"] - t["total"], 3),
        sketches=[r["text"] for r in payload["results"]],
        cached="decoder from the cache" in done.stderr,
    )


def measure(
    reps: int,
    *,
    description: str = DESCRIPTION,
    model: str = "default",
    adapter: str = "latest",
    candidates: int = 4,
    seed: int = 0,
) -> DrawReport:
    """`reps` cold and `reps` warm runs, alternating, after the one first run."""
    report = DrawReport(description, model, adapter, candidates)
    argv = [description, "--model", model, "--adapter", adapter, "--device", "cpu"]
    argv += ["--candidates", str(candidates), "--top", str(candidates), "--seed", str(seed)]
    with tempfile.TemporaryDirectory(prefix="draw-wall-") as tmp:
        env = _env(Path(tmp))
        cold = env | {"DIAGRAMMER_DECODER_CACHE": "0"}
        report.runs.append(one_run("first", argv, env, Path(tmp) / "out"))
        for i in range(reps):
            for mode, how in (("cold", cold), ("warm", env))[:: 1 if i % 2 == 0 else -1]:
                print(f"draw {mode} {i + 1}/{reps} ...", file=sys.stderr, flush=True)
                report.runs.append(one_run(mode, argv, how, Path(tmp) / "out"))
    report.notes.append(f"{os.cpu_count()} CPUs, load average {_load()} at the end")
    return report


def _env(tmp: Path) -> dict[str, str]:
    """The user's converted models, a fresh decoder cache: the first run must miss."""
    (tmp / "cache").mkdir()
    cache_root().mkdir(parents=True, exist_ok=True)
    (tmp / "cache" / "models").symlink_to(cache_root(), target_is_directory=True)
    env = dict(os.environ, DIAGRAMMER_CACHE=str(tmp / "cache"))
    env.pop("DIAGRAMMER_DECODER_CACHE", None)
    return env


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def summary(report: DrawReport) -> list[dict]:
    """Per mode: runs, median and best wall, and the median of each stage."""
    rows = []
    for mode in ("cold", "first", "warm"):
        runs = report.of(mode)
        if not runs:
            continue
        walls = [r.wall_s for r in runs]
        rows.append(
            {
                "mode": mode,
                "runs": len(runs),
                "median_s": round(statistics.median(walls), 2),
                "best_s": round(min(walls), 2),
                "worst_s": round(max(walls), 2),
                "load_s": round(statistics.median(r.load_s for r in runs), 2),
                "generate_s": round(statistics.median(r.generate_s for r in runs), 2),
                "rank_s": round(statistics.median(r.rank_s for r in runs), 2),
                "rest_s": round(statistics.median(r.rest_s for r in runs), 2),
            }
        )
    return rows


def markdown(report: DrawReport) -> str:
    rows = summary(report)
    cols = list(rows[0]) if rows else []
    lines = [
        f'`diagrammer draw "{report.description}"`, {report.candidates} candidates, '
        f"model {report.model}, adapter {report.adapter}, CPU",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + " --- |" * len(cols),
    ]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    same = "yes" if report.same_sketches else "NO"
    lines += ["", f"- same sketches in every run (seeded): {same}"]
    lines += [f"- {note}" for note in report.notes]
    return "\n".join(lines)


def plot(report: DrawReport, path: Path) -> None:
    """Each run's wall time in the order they ran (modes alternate), stacked by stage."""
    import matplotlib  # noqa: PLC0415 - only the benchmark draws plots

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    runs = report.runs
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(runs) + 2), 4.5))
    x = range(len(runs))
    bottom = [0.0] * len(runs)
    stages = (("rest_s", "tab:gray"), ("load_s", "tab:orange"), ("generate_s", "tab:green"))
    for stage, color in (*stages, ("rank_s", "tab:blue")):
        values = [getattr(r, stage) for r in runs]
        ax.bar(x, values, bottom=bottom, color=color, label=stage.removesuffix("_s"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for i, r in enumerate(runs):
        ax.text(i, r.wall_s, f"{r.wall_s:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(x), [r.mode for r in runs], fontsize=7)
    ax.axhline(10, color="tab:red", linewidth=0.8, linestyle="--", label="10 s goal")
    ax.set_ylabel("wall seconds per `draw`")
    ax.set_title(f"diagrammer draw, {report.candidates} candidates, cache off vs on", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
