"""Loading: sources, quantization switch, adapters by version switched at runtime, GGUF cache."""

import time

import pytest
import torch
from peft import LoraConfig, get_peft_model

from engine.llm import load as loading
from engine.llm import tiny
from engine.llm.load import ModelNotFound, load
from engine.llm.sampling import SamplingParams


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tiny.save(tmp_path_factory.mktemp("base"), "llama")


def make_adapter(base, folder, seed):
    model = tiny.model("llama", len(tiny.tokenizer()))
    model.load_state_dict(load(str(base)).model.state_dict())
    torch.manual_seed(seed)
    config = LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(folder)
    return folder


def logits(lm):
    ids = lm.tokenizer("layers: 3 5 2", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        return lm.model(ids).logits


def test_adapters_load_by_version_and_switch_without_reloading(base, tmp_path):
    a = make_adapter(base, tmp_path / "a", seed=1)
    b = make_adapter(base, tmp_path / "b", seed=2)
    lm = load(str(base))
    plain = logits(lm)
    lm.use_adapter("a", a)
    with_a = logits(lm)
    lm.use_adapter("b", b)
    with_b = logits(lm)
    assert not torch.allclose(plain, with_a) and not torch.allclose(with_a, with_b)
    lm.use_adapter(None)
    assert torch.allclose(logits(lm), plain) and lm.adapter is None
    lm.use_adapter("a")  # already loaded: no folder needed
    assert torch.allclose(logits(lm), with_a) and lm.adapter == "a"


def test_missing_things_are_clear_errors(base, tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "ADAPTERS_DIR", tmp_path)
    with pytest.raises(ModelNotFound, match="no adapter 'v9'"):
        load(str(base), adapter="v9")
    with pytest.raises(ModelNotFound, match="nothing is downloaded"):
        load("nobody/no-such-model-here")
    with pytest.raises(ModelNotFound, match="no such GGUF"):
        load(str(tmp_path / "missing.gguf"))


def test_bitsandbytes_needs_a_gpu(base):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        load(str(base), bits=4, device="cpu")
    with pytest.raises(ValueError, match="4 or 8"):
        loading.quantization(3, torch.device("cpu"))


def test_latest_adapter_orders_versions_by_number(tmp_path, monkeypatch):
    monkeypatch.setattr(loading, "ADAPTERS_DIR", tmp_path)
    assert loading.latest_adapter() is None
    for v in ("v1", "v2", "v10", "notes"):
        (tmp_path / v).mkdir()
    for v in ("v1", "v2", "v10"):
        (tmp_path / v / "adapter_config.json").write_text("{}")
    assert loading.latest_adapter() == "v10"


@pytest.mark.slow
def test_embedded_gguf_converts_once_then_loads_fast_and_the_shipped_adapter_draws():
    """The real SmolLM2 GGUF: first use converts (~30 s, once per machine), later uses reuse
    the cache; with the shipped adapter the whole pipeline draws what was asked."""
    from engine.diagram.model import Spec
    from engine.pipeline import draw

    gguf = loading.default_gguf()
    folder = loading.converted(gguf)
    start = time.perf_counter()
    assert loading.converted(gguf) == folder
    assert time.perf_counter() - start < 1.0
    lm = load(adapter=loading.latest_adapter(), device="cpu")
    assert lm.tokenizer.eos_token == "<|im_end|>" and lm.tokenizer.pad_token == "<|endoftext|>"
    result = draw(
        lm,
        "an MLP with 3 inputs, a hidden layer of 5 and 2 outputs",
        2,
        sampling=SamplingParams(seed=0),
    )
    assert result.spec == Spec("network", layers=(3, 5, 2))
    best = result.candidates[0]
    assert best.generation.finished and best.fidelity.exact and best.valid and best.png
