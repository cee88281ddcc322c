"""The decoder cache (engine/llm/cache.py) on tiny random Llama and Qwen2 models with a LoRA
adapter: a hit decodes exactly as the decoder built from the model; a changed model or adapter
misses; a damaged file is rebuilt with one warning; the cache can be turned off."""

import logging
import os

import pytest
import torch
from peft import LoraConfig, get_peft_model

from engine.llm import cache, fast, prompt, tiny
from engine.llm.sampling import SamplingParams
from engine.pipeline import draw

TEXTS = ["an MLP 2 3", "a flow: load data, clean it, train a model, evaluate it"]
pytestmark = [
    pytest.mark.skipif(not fast.int8_available(), reason="no fbgemm int8 kernels"),
    pytest.mark.usefixtures("one_torch_thread"),
]



@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAGRAMMER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DIAGRAMMER_DECODER_CACHE", raising=False)
    return tmp_path / "cache"


def adapter(folder, arch, seed=3):
    """A LoRA with random B (so it changes the output), saved for the tiny model's shapes."""
    base = tiny.model(arch, len(tiny.tokenizer()), 0)
    torch.manual_seed(seed)  # after the base, which seeds itself: the LoRA's draws differ
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(folder)
    return folder


@pytest.fixture(params=["llama", "qwen2"])
def parts(request, tmp_path):
    arch = request.param
    return tiny.save(tmp_path / arch, arch), adapter(tmp_path / "v9", arch)


def loaded(model, lora):
    return cache.load_model(str(model), adapter="v9", device="cpu", adapter_path=lora)


def entries():
    return sorted(cache.folder().glob("*.pt"))


def prefill(lm):
    tok = lm.tokenizer
    ps = [prompt.build(tok, t, None) for t in TEXTS]
    batch = tok(ps, return_tensors="pt", padding=True, add_special_tokens=False)
    dec = fast.decoder(lm)
    with torch.inference_mode(), dec.lock:
        dec.reserve(2, batch["input_ids"].shape[1] + 2)
        return dec.prefill(batch["input_ids"], batch["attention_mask"], 1)


def test_a_hit_decodes_exactly_as_the_decoder_built_from_the_model(parts):
    built = loaded(*parts)
    assert not getattr(built.model, "prebuilt", False) and len(entries()) == 1
    hit = loaded(*parts)
    assert isinstance(hit.model, fast.Prebuilt) and hit.adapter == "v9"
    assert hit.name == built.name and fast.decoder(hit).int8
    assert torch.equal(prefill(hit), prefill(built))
    seeded = SamplingParams(max_new_tokens=12, temperature=1.0, seed=7)
    ps = [prompt.build(built.tokenizer, t, None) for t in TEXTS]
    ours, theirs = (fast.generate(lm, ps, 3, seeded) for lm in (hit, built))
    assert [[g.text for g in row] for row in ours] == [[g.text for g in row] for row in theirs]
    sketches = [
        [c.text for c in draw(lm, "an MLP 2-3-1", 4, sampling=seeded).candidates]
        for lm in (hit, built)
    ]
    assert sketches[0] == sketches[1]


def test_a_cached_model_keeps_its_adapter(parts):
    loaded(*parts)
    hit = loaded(*parts)
    with pytest.raises(ValueError, match="keeps its adapter"):
        hit.use_adapter(None)


def test_a_changed_adapter_or_model_misses_and_replaces_the_file(parts, tmp_path):
    model, lora = parts
    loaded(model, lora)
    first = entries()
    adapter(lora, "qwen2" if "qwen2" in model.name else "llama", seed=4)  # new weights
    again = loaded(model, lora)
    assert not isinstance(again.model, fast.Prebuilt)
    assert len(entries()) == 1 and entries() != first  # the stale file is gone
    config = model / "config.json"
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    assert not isinstance(loaded(model, lora).model, fast.Prebuilt)
    assert isinstance(loaded(model, lora).model, fast.Prebuilt)


def test_an_edit_of_the_code_that_builds_the_decoder_misses(parts, tmp_path, monkeypatch):
    model, lora = parts
    loaded(model, lora)
    source = tmp_path / "fast.py"
    source.write_text("# the decoder, as it was")
    monkeypatch.setattr(cache, "SOURCES", [*cache.SOURCES, source])
    assert not isinstance(loaded(model, lora).model, fast.Prebuilt)
    assert isinstance(loaded(model, lora).model, fast.Prebuilt)
    source.write_text("# the decoder, edited")
    assert not isinstance(loaded(model, lora).model, fast.Prebuilt)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_file_is_rebuilt_with_one_warning(parts, damage, caplog):
    built = loaded(*parts)
    path = entries()[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a cache file")
    with caplog.at_level(logging.WARNING, logger="engine.llm.cache"):
        rebuilt = loaded(*parts)
    warned = [r for r in caplog.records if r.name == "engine.llm.cache"]
    assert len(warned) == 1 and "unreadable" in warned[0].getMessage()
    assert "\n" not in warned[0].getMessage()
    assert not isinstance(rebuilt.model, fast.Prebuilt)
    assert torch.equal(prefill(rebuilt), prefill(built))
    assert isinstance(loaded(*parts).model, fast.Prebuilt)  # the rebuilt file reads


def test_an_unwritable_cache_draws_anyway_with_one_warning(parts, cache_dir, caplog):
    cache_dir.mkdir()
    (cache_dir / "decoders").write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="engine.llm.cache"):
        lm = loaded(*parts)
    assert [r.getMessage()[:32] for r in caplog.records] == ["could not write the decoder cach"]
    assert fast.generate(lm, TEXTS[:1], 2, SamplingParams(max_new_tokens=4, seed=1))


def test_only_older_files_of_the_same_model_and_adapter_are_replaced(parts):
    model, lora = parts
    loaded(model, lora)
    entries()[0].unlink()  # so that the next load misses and writes
    other = cache.folder() / f"{model.name}-v9-x-{'0' * 20}.pt"  # adapter "v9-x": kept
    stale = cache.folder() / f"{model.name}-v9-{'1' * 20}.pt"  # an older key: replaced
    other.write_bytes(b"kept")
    stale.write_bytes(b"replaced")
    loaded(model, lora)
    assert other.exists() and not stale.exists() and len(entries()) == 2


def test_the_cache_can_be_turned_off(parts, monkeypatch):
    monkeypatch.setenv("DIAGRAMMER_DECODER_CACHE", "0")
    loaded(*parts)
    assert not isinstance(loaded(*parts).model, fast.Prebuilt)
    assert entries() == []


def test_the_cache_folder_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("DIAGRAMMER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.folder() == tmp_path / "xdg" / "diagrammer" / "decoders"
    monkeypatch.setenv("DIAGRAMMER_CACHE", str(tmp_path / "mine"))
    assert cache.folder() == tmp_path / "mine" / "decoders"


def test_a_float_decoder_restores_to_the_same_numbers(parts):
    """The float32 layers (int8 off) round-trip too: same logits, bit for bit."""
    lm = loaded(*parts)
    dec = fast.decoder(lm, int8=False)
    back = fast.Decoder.restore(dec.parts())
    assert not back.int8 and type(back.head) is fast.Linear
    x = torch.randn(2, dec.embed.shape[1])
    assert torch.equal(back.head(x), dec.head(x))
    assert torch.equal(
        back.rotary(x, torch.arange(7)[None])[0], dec.rotary(x, torch.arange(7)[None])[0]
    )
