"""`diagrammer draw`: bad input gives a clear message and exit 2; a run writes its files."""

import json

import pytest

from diagrammer.cli import main
from engine.llm import tiny


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["draw", "   "], "empty"),
        (["draw", "y" * 1200], "the limit is 1000"),
        (["draw", "an MLP 5000000-10-1"], "over the limit of 1,000,000"),
        (["draw", "an MLP 2-3-1", "--candidates", "0"], "between 1 and 16"),
        (["draw", "an MLP 2-3-1", "--candidates", "2", "--top", "3"], "--top"),
    ],
)
def test_bad_input_is_a_one_line_message_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_model_or_adapter_is_a_clear_message(tmp_path, capsys):
    assert main(["draw", "an MLP 2-3-1", "--model", str(tmp_path / "nope.gguf")]) == 2
    assert "no such GGUF file" in capsys.readouterr().err


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    """Decoders are cached here, not in the user's cache folder."""
    monkeypatch.setenv("DIAGRAMMER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DIAGRAMMER_DECODER_CACHE", raising=False)


def test_a_run_prints_json_and_writes_the_top_candidates(tmp_path, capsys):
    model = tiny.save(tmp_path / "m", "qwen2")
    out = tmp_path / "out"
    argv = ["draw", "an MLP 2-3-1", "--model", str(model), "--adapter", "none"]
    argv += ["--candidates", "2", "--top", "2", "--max-new-tokens", "5", "--out", str(out)]
    code = main([*argv, "--json", "--seed", "3"])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code in (0, 1)  # a random model rarely draws anything; the run must not crash
    assert [r["rank"] for r in payload["results"]] == [1, 2]
    assert payload["spec"] == {"kind": "network", "layers": [2, 3, 1], "steps": []}
    assert (out / "rank1.sketch.txt").is_file()
    assert "sampling 2 candidates" in captured.err


def test_a_second_run_reads_the_decoder_from_the_cache_and_draws_the_same(tmp_path, capsys):
    model = tiny.save(tmp_path / "m", "llama")
    argv = ["draw", "an MLP 2-3-1", "--model", str(model), "--adapter", "none", "--json"]
    argv += ["--candidates", "3", "--top", "3", "--max-new-tokens", "8", "--seed", "5"]
    runs = []
    for i in range(2):
        main([*argv, "--out", str(tmp_path / f"out{i}")])
        captured = capsys.readouterr()
        runs.append((json.loads(captured.out)["results"], captured.err))
    assert "decoder from the cache" not in runs[0][1]
    assert "decoder from the cache" in runs[1][1]
    assert [r["text"] for r in runs[0][0]] == [r["text"] for r in runs[1][0]]
