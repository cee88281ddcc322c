"""The fast decode path against the plain one, on tiny random Llama and Qwen2 models (CPU),
and the OpenAI-compatible client against a fake server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.generation.logits_process import (
    LogitsProcessorList,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from engine.llm import fast, prompt, tiny
from engine.llm.generate import generate as plain_generate
from engine.llm.load import LoadedModel, load, prepare_tokenizer
from engine.llm.openai_backend import RemoteError, RemoteModel
from engine.llm.openai_backend import generate as remote_generate
from engine.llm.sampling import SamplingParams

TEXTS = ["an MLP 2 3", "a flow: load data, clean it, train a model, evaluate it", "x"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True, scope="module")
def float_weights():
    """These tests hold the decoder to transformers' own numbers, so its float32 weights; the
    CPU's default int8 layers are tested in test_llm_fast_int8.py."""
    before, fast.CPU_INT8 = fast.CPU_INT8, False
    yield
    fast.CPU_INT8 = before


@pytest.fixture(scope="module", params=["llama", "qwen2"])
def lm(request, tmp_path_factory):
    return load(str(tiny.save(tmp_path_factory.mktemp(request.param), request.param)))


def prompts(lm, texts=TEXTS):
    return [prompt.build(lm.tokenizer, t, None) for t in texts]


def hf_greedy(lm, ps, steps):
    """transformers' own greedy decoding, exactly `steps` new tokens a prompt."""
    tok = lm.tokenizer
    batch = tok(ps, return_tensors="pt", padding=True, add_special_tokens=False)
    out = lm.model.generate(
        **batch,
        do_sample=False,
        max_new_tokens=steps,
        min_new_tokens=steps,
        pad_token_id=tok.pad_token_id,
        suppress_tokens=[tok.pad_token_id],
    )
    return out[:, batch["input_ids"].shape[1] :]


def biased(lm, token_id: int, strength: float):
    """Every step's logits favour one token (the real model, re-weighted); the fast path's
    decoder, which holds the weights it was built from, is dropped."""
    fast.forget(lm)
    head = lm.model.lm_head
    new = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        new.weight.zero_()
        new.bias.zero_()
        new.bias[token_id] = strength
    lm.model.lm_head = new
    return head


def test_greedy_tokens_equal_transformers_greedy(lm):
    """Prompts of different lengths (left padding) decode to the very same tokens."""
    ps = prompts(lm)
    ours = fast.decode(lm, ps, 2, temperature=0, max_new_tokens=24, stop=False).ids
    ref = hf_greedy(lm, ps, 24)
    assert torch.equal(ours[0::2], ref) and torch.equal(ours[1::2], ref)


def test_batch_buckets_with_filler_rows_change_nothing(lm):
    """As on CUDA: 3 rows run in a bucket of 4, shrinking to 2 and 1 as rows finish."""
    ps = prompts(lm)
    ref = fast.decode(lm, ps, 1, temperature=0, max_new_tokens=12, stop=False).ids
    dec = fast.decoder(lm)
    dec.round_rows = True
    try:
        ours = fast.decode(lm, ps, 1, temperature=0, max_new_tokens=12, stop=False).ids
        out = fast.generate(lm, ps, 3, sampling=SamplingParams(max_new_tokens=12, temperature=1.0))
    finally:
        dec.round_rows = False
    assert torch.equal(ours, ref)
    assert all(1 <= g.tokens <= 12 for row in out for g in row)


def test_greedy_tokens_equal_with_a_lora_adapter_merged(lm, tmp_path):
    from peft import LoraConfig, get_peft_model

    base = tiny.model(lm.model.config.model_type, len(lm.tokenizer), 3)
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "v_proj", "down_proj"],
        init_lora_weights=False,  # random B, so the adapter changes the output
    )
    get_peft_model(base, config).save_pretrained(tmp_path / "v9")
    tuned = LoadedModel(
        tiny.model(lm.model.config.model_type, len(lm.tokenizer), 3), lm.tokenizer, "t"
    )
    ps = prompts(tuned)
    bare = fast.decode(tuned, ps, 1, temperature=0, max_new_tokens=16, stop=False).ids
    tuned.use_adapter("v9", tmp_path / "v9")
    ours = fast.decode(tuned, ps, 1, temperature=0, max_new_tokens=16, stop=False).ids
    assert torch.equal(ours, hf_greedy(tuned, ps, 16))
    assert not torch.equal(ours, bare)  # the adapter really took part
    tuned.use_adapter(None)
    assert torch.equal(fast.decode(tuned, ps, 1, temperature=0, max_new_tokens=16).ids, bare)


def test_a_shrunk_batch_steps_like_the_full_one(lm):
    """Moving live rows to the front of the cache keeps each row's own history."""
    tok = lm.tokenizer
    batch = tok(prompts(lm), return_tensors="pt", padding=True, add_special_tokens=False)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    dec = fast.decoder(lm)
    with torch.inference_mode():
        dec.reserve(3, ids.shape[1] + 4)
        dec.prefill(ids, mask, 1)
        nxt = torch.tensor([11, 12, 13])
        dec.ids[:3] = nxt
        dec.slot.fill_(ids.shape[1])
        full = dec.step(3).clone()
        dec.compact(torch.tensor([2, 0]), 2)
        dec.ids[:2] = nxt[[2, 0]]
        assert torch.allclose(dec.step(2), full[[2, 0]], atol=1e-5)


def test_logits_processing_is_the_plain_paths(lm):
    torch.manual_seed(0)
    logits = torch.randn(6, 300) * 3
    pad = torch.tensor([5])
    for temperature, top_p in [(0.7, 0.95), (1.0, 0.5), (1.3, 1.0), (0.2, 0.9)]:
        ref = LogitsProcessorList(
            [SuppressTokensLogitsProcessor([5], device="cpu"), TemperatureLogitsWarper(temperature)]
            + ([TopPLogitsWarper(top_p)] if top_p < 1 else [])
        )(None, logits.clone())
        ours = fast.process(logits, temperature=temperature, top_p=top_p, suppress=pad)
        assert torch.equal(torch.isinf(ours), torch.isinf(ref))
        assert torch.allclose(ours[~torch.isinf(ours)], ref[~torch.isinf(ref)])


def test_sampling_follows_the_distribution():
    torch.manual_seed(1)
    probs = torch.tensor([0.6, 0.3, 0.1, 0.0])
    picks = fast.choose(probs.log().repeat(20_000, 1), 1.0)
    share = torch.bincount(picks, minlength=4) / len(picks)
    assert torch.allclose(share, probs, atol=0.015)


def test_same_seed_same_samples_as_the_plain_path(lm):
    """torch.multinomial draws one sample as argmax(p / Exp(1)), as `choose` does, so with the
    same seed both paths sample the very same candidates (until the fast batch shrinks)."""
    ps = prompts(lm)
    ours = fast.generate(lm, ps, 3, sampling=SamplingParams(max_new_tokens=12, seed=11))
    theirs = plain_generate(lm, ps, 3, sampling=SamplingParams(max_new_tokens=12, seed=11))
    assert [[(g.text, g.tokens) for g in row] for row in ours] == [
        [(g.text, g.tokens) for g in row] for row in theirs
    ]


def test_candidates_are_valid_bounded_and_differ(lm):
    out = fast.generate(
        lm, prompts(lm), 4, sampling=SamplingParams(max_new_tokens=8, temperature=1.0)
    )
    assert [len(row) for row in out] == [4, 4, 4]
    for row in out:
        assert len({g.text for g in row}) > 1
        assert all(1 <= g.tokens <= 8 and (g.finished or g.tokens == 8) for g in row)
    assert len({g.seconds for row in out for g in row}) == 1


def test_every_call_differs_unless_seeded(lm):
    ps = prompts(lm, ["an MLP 2 3"])
    a, b = (
        fast.generate(lm, ps, 3, sampling=SamplingParams(max_new_tokens=10, temperature=1.0))[0]
        for _ in range(2)
    )
    assert [g.text for g in a] != [g.text for g in b]
    c, d = (
        fast.generate(lm, ps, 3, sampling=SamplingParams(max_new_tokens=10, seed=7))[0]
        for _ in range(2)
    )
    assert [g.text for g in c] == [g.text for g in d]


def test_each_candidate_stops_at_the_end_token_and_the_batch_shrinks(lm):
    tok = lm.tokenizer
    head = biased(lm, tok.eos_token_id, 5.0)  # about one step in three ends
    try:
        ps = prompts(lm, ["a", "b", "c", "d"])
        out = fast.generate(lm, ps, 8, sampling=SamplingParams(max_new_tokens=60, temperature=1.0))
        ids = fast.decode(lm, ps, 8, max_new_tokens=60, temperature=1.0).ids
    finally:
        lm.model.lm_head = head
        fast.forget(lm)
    gens = [g for row in out for g in row]
    assert all(g.finished for g in gens)
    assert len({g.tokens for g in gens}) > 3  # each candidate stops on its own
    assert not any("<|im_end|>" in g.text or "<|endoftext|>" in g.text for g in gens)
    ends = (ids == tok.eos_token_id).int().argmax(1)
    assert all(ids[r, e + 1 :].eq(tok.pad_token_id).all() for r, e in enumerate(ends.tolist()))


def test_a_blank_line_ends_a_sketch_like_the_plain_path(lm):
    newline = lm.tokenizer("\n", add_special_tokens=False)["input_ids"][-1]
    head = biased(lm, newline, 50.0)
    try:
        ours = fast.generate(lm, prompts(lm, ["a"]), 2, sampling=SamplingParams(max_new_tokens=20))
        theirs = plain_generate(
            lm, prompts(lm, ["a"]), 2, sampling=SamplingParams(max_new_tokens=20)
        )
    finally:
        lm.model.lm_head = head
        fast.forget(lm)
    assert ours == [
        [g.__class__(g.text, g.tokens, g.finished, ours[0][0].seconds) for g in theirs[0]]
    ]


def test_unsupported_models_fall_back_to_the_plain_path(caplog):
    tok = prepare_tokenizer(tiny.tokenizer())
    config = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=128)
    gpt2 = LoadedModel(GPT2LMHeadModel(config).eval(), tok, "gpt2")
    fast.fallbacks.clear()
    for _ in range(2):
        out = fast.generate(
            gpt2, prompts(gpt2, ["a"]), 2, sampling=SamplingParams(max_new_tokens=5)
        )
        assert len(out[0]) == 2 and all(1 <= g.tokens <= 5 for g in out[0])
    assert caplog.text.count("architecture 'gpt2'") == 1  # said once, counted every time
    assert fast.fallbacks == {"gpt2: architecture 'gpt2'": 2}


def test_a_failure_of_the_fast_path_raises_instead_of_falling_back(lm):
    """Only a declared Unsupported model falls back: a broken decoder is a bug to see."""
    fast.fallbacks.clear()
    dec = fast.decoder(lm)
    good, dec.layers[0].qkv = dec.layers[0].qkv, fast.Linear(torch.zeros(5, 7), None)
    try:
        with pytest.raises(RuntimeError):
            fast.generate(lm, prompts(lm, ["a"]), 2, sampling=SamplingParams(max_new_tokens=5))
    finally:
        dec.layers[0].qkv = good
    assert not fast.fallbacks


def test_bad_arguments_are_refused_like_the_plain_path(lm):
    with pytest.raises(ValueError, match="at least 1"):
        fast.generate(lm, prompts(lm), 0)
    assert fast.generate(lm, [], 3) == []


# ----------------------------------------------------------------------------- OpenAI client


class FakeCompletions(BaseHTTPRequestHandler):
    """POST /v1/completions: echoes each prompt's number; a few canned misbehaviours."""

    seen: list = []
    mode = "ok"

    def do_POST(self):  # noqa: N802 (the http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeCompletions.seen.append((self.path, dict(self.headers), body))
        if self.mode == "error":
            return self.reply(500, {"error": "model crashed"})
        n, choices = body["n"], []
        for p, text in enumerate(body["prompt"]):
            for k in range(n):
                ended = k % 2 == 0
                choices.append(
                    {
                        "index": p * n + k,
                        "text": f"layers: {len(text) % 7 + 1} {k + 1}" + ("" if ended else " 9 9"),
                        "finish_reason": "stop" if ended else "length",
                    }
                )
        choices.reverse()  # the order on the wire is not the index order
        if self.mode == "short":
            choices = choices[:-1]
        self.reply(200, {"object": "text_completion", "choices": choices})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeCompletions)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeCompletions.seen, FakeCompletions.mode = [], "ok"
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_remote_candidates_come_back_grouped_by_prompt(server):
    remote = RemoteModel(server, "v1", tiny.tokenizer(), api_key="k3y")
    ps = ["short prompt", "a longer prompt!"]
    out = remote_generate(
        remote,
        ps,
        3,
        sampling=SamplingParams(temperature=0.5, top_p=0.9, max_new_tokens=40, seed=4),
    )
    path, headers, body = FakeCompletions.seen[0]
    assert path == "/v1/completions" and headers["Authorization"] == "Bearer k3y"
    assert body == {
        "model": "v1",
        "prompt": ps,
        "n": 3,
        "max_tokens": 40,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": ["\n\n"],
        "seed": 4,
    }
    assert [[g.text for g in row] for row in out] == [
        [
            f"layers: {len(p) % 7 + 1} 1",
            f"layers: {len(p) % 7 + 1} 2 9 9",
            f"layers: {len(p) % 7 + 1} 3",
        ]
        for p in ps
    ]
    assert [g.finished for g in out[0]] == [True, False, True]
    assert all(g.tokens > 1 and g.seconds > 0 for row in out for g in row)


def test_remote_failures_raise_a_clear_error(server):
    remote = RemoteModel(server, "v1", tiny.tokenizer())
    FakeCompletions.mode = "error"
    with pytest.raises(RemoteError, match="500: .*model crashed"):
        remote_generate(remote, ["p"], 2)
    FakeCompletions.mode = "short"
    with pytest.raises(RemoteError, match="asked for 4 choices, got 3"):
        remote_generate(remote, ["p", "q"], 2)
    gone = RemoteModel("http://127.0.0.1:9/v1", "v1", tiny.tokenizer(), timeout=2)
    with pytest.raises(RemoteError, match="failed"):
        remote_generate(gone, ["p"], 1)


def test_fast_path_ends_on_a_chat_turn_marker_like_the_plain_path() -> None:
    # Adapter v1 ends its turn with <|im_start|>; the fast path must stop there too.
    tok = tiny.tokenizer()
    stops = fast.Stops.of(tok, len(tok), torch.device("cpu"))
    vocab = tok.get_vocab()
    for marker in ("<|im_start|>", "<|im_end|>"):
        token = torch.tensor([vocab[marker]])
        assert stops.ended(token, torch.tensor([False]))[0].item()
    plain = torch.tensor([vocab[next(t for t in vocab if t.isalpha())]])
    assert not stops.ended(plain, torch.tensor([False]))[0].item()
