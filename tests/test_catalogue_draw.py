"""Every catalogue entry, asked for by name, is drawn with the catalogue's structure whatever
the model writes (the structure is grafted onto every candidate; the model only styles it)."""

from __future__ import annotations

import pytest

from engine.catalogue import catalogue
from engine.diagram.fidelity import signature
from engine.diagram.metrics import metrics
from engine.diagram.read import to_diagram
from engine.llm.generate import Generation
from engine.pipeline import BadRequest, read, spec_of

STYLED = (
    "steps: x | y\ndirection: down\nshape: rectangle 120x40\nfill: 255 224 178\n"
    "line: dashed line 90 20 20"
)
ENTRIES = catalogue.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_a_request_naming_an_entry_draws_its_structure(entry: catalogue.Entry) -> None:
    spec = spec_of(f"draw {entry.name}")
    assert spec is not None and spec.kind == "named" and spec.name == entry.name
    expected = signature(to_diagram(catalogue.adapt(entry, entry.name)).diagram)
    for text in (STYLED, "sorry, I can't draw that"):
        c = read(Generation(text, 10, True, 0.1), spec)
        assert c.parsed and c.fidelity.exact and signature(c.diagram) == expected
        m = metrics(c.diagram)
        assert m.overlap_count == 0 and m.off_canvas_share == 0


def test_additions_in_the_request_are_drawn() -> None:
    spec = spec_of("a ResNet-18 for 3 classes")
    blocks = spec.structure.splitlines()[0]
    assert spec.name == "ResNet-18" and blocks.split("|")[-1].strip() == "fc 3"


@pytest.mark.parametrize(
    "text",
    ["draw the Zorblax-9 architecture", "diagram of the Hyperblorp transformer v3 pls",
     "the Bilbonet architecture", "draw ResNet-26", "draw U-Net++", "draw StyleGAN",
     "draw YOLOv8", "draw EfficientNet-B0"],
)
def test_an_unknown_name_is_refused_with_a_reason_not_drawn(text: str) -> None:
    with pytest.raises(BadRequest, match="don't know"):
        spec_of(text)


@pytest.mark.parametrize(
    "text",
    ["lmao", "qwertyuiop", "who is faster, tensorflow or mxnet", "why is my gpu so hot?",
     "cheers mate, nice one"],
)
def test_what_holds_no_diagram_gets_a_sentence(text: str) -> None:
    with pytest.raises(BadRequest, match="nothing to draw|not a diagram"):
        spec_of(text)


@pytest.mark.parametrize(
    "text",
    ["draw a cnn", "a neural net for mnist", "show me a vae", "a BiLSTM model for sentiment",
     "a ConvLSTM network for video frames", "BiGRU model please", "draw a ConvLSTM"],
)
def test_vague_requests_of_the_field_are_still_tried(text: str) -> None:
    spec_of(text)  # no BadRequest: the model draws what it can


@pytest.mark.parametrize(
    ("text", "name"),
    [("fine-tune llama with lora", "LoRA"), ("a lora adapter for gpt-2", "LoRA"),
     ("rag with llama as the generator", "RAG")],
)
def test_a_model_named_in_passing_leaves_the_method_drawn(text: str, name: str) -> None:
    """A model's name beside a method ("llama", "gpt-2") does not take the request over."""
    spec = spec_of(text)
    assert spec is not None and spec.name == name


def test_a_variant_mentioned_in_passing_is_left_to_the_model() -> None:
    """Only a request that asks for a missing variant itself is refused."""
    assert spec_of("distill gpt-2 into a small model") is None
    with pytest.raises(BadRequest, match="don't know the GPT-2"):
        spec_of("draw GPT-2 for 10 classes")


def test_a_request_listing_its_own_layers_is_not_drawn_as_the_entry_it_names() -> None:
    """'autoencoder: input 784, dense 256, ...' states its layers: never the catalogue's
    autoencoder with other sizes, even where the stack reader cannot read the list."""
    for text, name in [
        ("autoencoder: input 784, dense 300, dense 40, dense 300, with tied weights",
         "Autoencoder"),
        ("an lstm model, embedding 5000 64, lstm 128, lstm 128, dense 6, where the lstm is "
         "bidirectional", "LSTM cell"),
    ]:
        assert catalogue.find(text).name == name  # the name is there ...
        spec = spec_of(text)
        assert spec is None or spec.name != name  # ... but the request states its own layers
    assert spec_of("resnet-18 for 10 classes").name == "ResNet-18"  # a name and its additions
