"""`diagrammer bench latency --draw` on a tiny model: one first run, then cold (cache off) and
warm (cache on) `draw` processes that write the same sketches, in a table and a plot."""

import json

from diagrammer.cli import main
from engine.bench import draw_wall
from engine.llm import tiny


def test_draw_runs_cold_and_warm_side_by_side(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIAGRAMMER_CACHE", str(tmp_path / "cache"))
    model = tiny.save(tmp_path / "m", "llama")
    out = tmp_path / "bench"
    argv = ["bench", "latency", "--draw", "--model", str(model), "--adapter", "none"]
    code = main([*argv, "--reps", "1", "--candidates", "2", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "bench_draw.json").read_text())
    modes = [(r["mode"], r["cached"]) for r in report["runs"]]
    assert modes[0] == ("first", False)
    assert sorted(modes[1:]) == [("cold", False), ("warm", True)]
    assert all(r["wall_s"] > r["load_s"] + r["generate_s"] for r in report["runs"])
    assert len({tuple(r["sketches"]) for r in report["runs"]}) == 1
    table = (out / "bench_draw.md").read_text()
    assert "| cold | 1 |" in table and "| warm | 1 |" in table and "same sketches" in table
    assert (out / "bench_draw.png").stat().st_size > 1000
    assert not (tmp_path / "cache" / "decoders").exists()  # the runs used their own cache


def test_the_summary_gives_median_and_best_per_mode():
    def run(mode, wall):
        return draw_wall.Run(mode, wall, 1.0, 2.0, 0.5, wall - 3.5, ["s"], mode == "warm")

    report = draw_wall.DrawReport("d", "m", "v1", 4)
    report.runs = [run("first", 20), run("cold", 13), run("cold", 11), run("cold", 12)]
    report.runs += [run("warm", 8), run("warm", 7)]
    rows = {r["mode"]: r for r in draw_wall.summary(report)}
    assert (rows["cold"]["median_s"], rows["cold"]["best_s"], rows["cold"]["worst_s"]) == (
        12,
        11,
        13,
    )
    assert (rows["warm"]["median_s"], rows["warm"]["best_s"], rows["warm"]["runs"]) == (7.5, 7, 2)
    assert report.same_sketches
    report.runs.append(draw_wall.Run("warm", 7, 1, 2, 0.5, 3.5, ["other"], True))
    assert (
        not report.same_sketches
        and "same sketches in every run (seeded): NO" in draw_wall.markdown(report)
    )
