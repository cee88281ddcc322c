"""`diagrammer bench scoring`: every stage timed, sequential and pool side by side, same answers."""

import json
from pathlib import Path

from diagrammer.cli import main
from diagrammer.commands.bench_scoring import PER_REQUEST, STAGES, _requests


def test_requests_are_a_mix_of_kinds_with_8_candidates_each() -> None:
    made = _requests(6, 2, 7)
    assert len(made) == 8 and all(len(texts) == PER_REQUEST for _, texts in made)
    assert len({texts[1] for _, texts in made}) == 8  # each its own structure
    assert made[-1][0] and "\n" in made[-1][1][1]  # a catalogue name, restyled


def test_the_bench_times_every_stage_and_checks_the_pool_answers_alike(
    tmp_path: Path, capsys
) -> None:
    argv = ["bench", "scoring", "--requests", "1", "--catalogue", "1", "--rounds", "1"]
    assert main([*argv, "--workers", "2", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "scoring.json").read_text())
    assert list(result["stages"]) == list(STAGES)
    assert all(row["cpu_ms"] >= 0 and row["wall_ms"] > 0 for row in result["stages"].values())
    e2e = result["end_to_end"]
    assert e2e["same"] and e2e["diff"] < 1e-5 and e2e["requests"] == 2
    assert e2e["request"]["pool"] > 0 and e2e["batch"]["sequential"] > 0
    assert (tmp_path / "scoring.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "same order and PNG bytes: True" in out and "descriptors" in out
