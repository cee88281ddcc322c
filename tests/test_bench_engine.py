"""`diagrammer bench engine` starts `diagrammer engine` in a process of its own, loads it over
real loopback HTTP and stops it; an engine that cannot start is reported in its own words."""

from __future__ import annotations

import json

from diagrammer.cli import main


def test_the_bench_loads_an_engine_in_another_process(tmp_path, capsys) -> None:
    out = tmp_path / "bench"
    args = ["bench", "engine", "--backend", "demo", "--concurrency", "1,3", "--requests", "6"]
    assert main([*args, "--out", str(out)]) == 0
    report = json.loads((out / "engine.json").read_text())
    assert [r["clients"] for r in report["rows"]] == [1, 3]
    for row in report["rows"]:
        assert row["answered"] >= 6 and row["failed"] == 0 and row["requests_per_min"] > 0
    assert "demo backend" in report["device"] and (out / "engine.png").stat().st_size > 0
    assert "demo backend" in capsys.readouterr().out


def test_an_engine_that_cannot_start_is_reported_not_waited_for(tmp_path, capsys) -> None:
    missing = tmp_path / "none.gguf"
    args = ["bench", "engine", "--model", str(missing), "--requests", "1", "--out", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "exited before answering" in err and f"no such GGUF file: {missing}" in err
