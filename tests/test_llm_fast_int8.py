"""The CPU's default fast path: int8 linear layers and the top-k nucleus sampler, on tiny
random Llama and Qwen2 models."""

import pytest
import torch

from engine.llm import fast, prompt, tiny
from engine.llm.load import load
from engine.llm.sampling import SamplingParams

TEXTS = ["an MLP 2 3", "a flow: load data, clean it, train a model, evaluate it", "x"]
pytestmark = [
    pytest.mark.skipif(not fast.int8_available(), reason="no fbgemm int8 kernels"),
    pytest.mark.usefixtures("one_torch_thread"),
]



@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm(request, tmp_path_factory):
    return load(str(tiny.save(tmp_path_factory.mktemp(request.param), request.param)))


def prompts(lm, texts=TEXTS):
    return [prompt.build(lm.tokenizer, t, None) for t in texts]


def first_logits(lm, int8: bool) -> torch.Tensor:
    """The first decode step's logits for the test prompts."""
    tok = lm.tokenizer
    batch = tok(prompts(lm), return_tensors="pt", padding=True, add_special_tokens=False)
    dec = fast.decoder(lm, int8=int8)
    with torch.inference_mode(), dec.lock:
        dec.reserve(3, batch["input_ids"].shape[1] + 2)
        return dec.prefill(batch["input_ids"], batch["attention_mask"], 1)


def test_the_cpu_default_is_int8_at_a_quarter_of_the_bytes(lm):
    dec = fast.decoder(lm)
    assert dec.int8 and isinstance(dec.head, fast.Int8Linear)
    assert all(isinstance(layer.down, fast.Int8Linear) for layer in dec.layers)
    floats = fast.decoder(lm, int8=False)
    assert not floats.int8 and type(floats.head) is fast.Linear
    assert floats.weight_bytes / 4.2 < dec.weight_bytes < floats.weight_bytes / 3.8


def test_smoothing_keeps_the_mlp_and_tames_the_down_inputs(lm):
    """Folding the scales into up and down computes the same MLP, and the largest input
    channel of down stands out less against the typical one."""
    model = fast.base_model(lm)
    peaks = fast._down_input_peaks(model, fast.calibration_ids(lm.tokenizer))
    mlp = model.model.layers[0].mlp
    gate_up = fast._fuse([fast._weight(m, None) for m in (mlp.gate_proj, mlp.up_proj)])
    down = fast._weight(mlp.down_proj, None)
    peak = peaks[0] * 0 + 1
    peak[3] = 50.0  # one channel far larger than the rest, as in real models
    (gu, _), (w, _) = fast._smooth(gate_up, down, peak)
    x = torch.randn(5, gu.shape[1])

    def mlp_out(gu, w):
        gate, up = (x @ gu.T).chunk(2, -1)
        return (torch.nn.functional.silu(gate) * up) @ w.T

    assert torch.allclose(mlp_out(gu, w), mlp_out(gate_up[0], down[0]), atol=1e-5)
    assert len(peaks) == len(model.model.layers) and all(p.shape == peaks[0].shape for p in peaks)
    scale = gate_up[0][gu.shape[0] // 2 :].norm(dim=1) / gu[gu.shape[0] // 2 :].norm(dim=1)
    assert scale.argmax() == 3  # the outlier channel was divided the most


def test_int8_logits_stay_close_to_the_float_ones(lm):
    ref, ours = first_logits(lm, False), first_logits(lm, True)
    error = (ours - ref).norm(dim=-1) / ref.norm(dim=-1)
    assert (error < 0.05).all(), error
    assert not torch.equal(ours, ref)  # the int8 kernels really ran


def test_int8_candidates_are_valid_bounded_and_seeded(lm):
    ps = prompts(lm)
    out = fast.generate(lm, ps, 4, sampling=SamplingParams(max_new_tokens=8, temperature=1.0))
    assert [len(row) for row in out] == [4, 4, 4]
    assert all(1 <= g.tokens <= 8 and (g.finished or g.tokens == 8) for row in out for g in row)
    a, b = (
        fast.generate(lm, ps[:1], 3, sampling=SamplingParams(max_new_tokens=10, seed=5))[0]
        for _ in range(2)
    )
    assert [g.text for g in a] == [g.text for g in b]


def test_the_int8_and_float_decoders_replace_each_other(lm):
    """Switching the option rebuilds the decoder (the key holds it), never mixes them."""
    assert fast.decoder(lm, int8=False) is fast.decoder(lm, int8=False)
    assert fast.decoder(lm, int8=True).int8
    assert not fast.decoder(lm, int8=False).int8


def peaked(rows: int = 4, vocab: int = 5000) -> torch.Tensor:
    """Logits like a tuned model's: a few likely tokens over a long, unlikely tail, and the
    pad token (4000) the likeliest of all."""
    torch.manual_seed(3)
    logits = torch.randn(rows, vocab) * 0.1 - 8
    logits[:, :6] = torch.tensor([3.0, 2.5, 2.0, 1.0, 0.0, -1.0])
    logits[:, 4000] = 5.0
    return logits


def test_the_nucleus_keeps_the_tokens_top_p_keeps():
    """The sampled tokens are exactly the support transformers' top-p leaves (here 3)."""
    logits, pad = peaked(), torch.tensor([4000])
    scores = fast.process(logits, temperature=0.7, top_p=0.95, suppress=pad)
    allowed = [set(torch.isfinite(row).nonzero()[:, 0].tolist()) for row in scores]
    assert allowed == [{0, 1, 2}] * 4
    seen = [set() for _ in allowed]
    for _ in range(200):
        token = fast.sample(logits, temperature=0.7, top_p=0.95, suppress=pad)
        for r, t in enumerate(token.tolist()):
            seen[r].add(t)
    assert seen == allowed


def test_the_nucleus_samples_the_plain_distribution():
    logits = peaked(1)
    scores = fast.process(logits, temperature=0.7, top_p=0.95, suppress=torch.tensor([4000]))
    probs = scores.softmax(-1)[0]
    torch.manual_seed(1)
    picks = torch.cat(
        [
            fast.sample(
                logits.expand(500, -1), temperature=0.7, top_p=0.95, suppress=torch.tensor([4000])
            )
            for _ in range(40)
        ]
    )
    share = torch.bincount(picks, minlength=len(probs)) / len(picks)
    assert torch.allclose(share, probs, atol=0.01)


def test_a_wide_nucleus_takes_the_full_sort():
    """Flat logits put the nucleus past the top k: the sort decides, as the plain path."""
    torch.manual_seed(0)
    flat = torch.randn(2, 3000) * 0.1
    assert fast._nucleus(flat, 0.95) is None
    assert fast._nucleus(peaked(2), 0.95) is not None


@pytest.mark.skipif(
    "onednn" not in torch.backends.quantized.supported_engines, reason="no oneDNN kernels"
)
def test_a_vocabulary_wide_layer_packs_for_onednn_and_stays_close():
    torch.manual_seed(0)
    weight, x = torch.randn(fast.ONEDNN_FROM, 64) * 0.02, torch.randn(3, 64)
    layer = fast.Int8Linear(weight, None)
    engine = torch.backends.quantized.engine
    ref = x @ weight.T
    assert (layer(x) - ref).norm() / ref.norm() < 0.03
    assert torch.backends.quantized.engine == engine  # packing did not change it for others


def test_token_texts_are_batch_decodes(lm):
    tok = lm.tokenizer
    assert fast.token_texts(tok, len(tok)) == tok.batch_decode([[i] for i in range(len(tok))])
