"""The catalogue of named architectures and processes (engine/catalogue/catalogue.py)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from engine.catalogue import catalogue
from engine.catalogue.catalogue import adapt, entries, find, normalise, unet_sketch
from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import contains
from engine.diagram.read import to_diagram
from engine.diagram.render import render
from engine.diagram.sketch import Sketch, parse_sketch

ENTRIES = entries()
NAMES = [e.name for e in ENTRIES]


def test_enough_entries_with_sources() -> None:
    assert len(ENTRIES) >= 60
    assert len(set(NAMES)) == len(NAMES)
    for e in ENTRIES:
        assert e.source.strip() and re.search(r"\b(1[89]|20)\d\d\b", e.source), e.name
        assert e.kind in {"stack", "flow"}, e.name
        assert e.aliases, e.name


def test_aliases_do_not_collide() -> None:
    owners = Counter(normalise(a) for e in ENTRIES for a in {normalise(a) for a in e.aliases})
    assert [a for a, n in owners.items() if n > 1] == []


def _check_drawing(text: str, name: str) -> None:
    sketch, problems = parse_sketch(text)
    assert isinstance(sketch, Sketch), name
    assert problems == [], (name, problems)
    diagram = layout(sketch)
    whole = metrics(diagram)
    # Group frames contain their steps by design; overlaps and edges through nodes are
    # measured on the drawing without them, and each frame must hold or miss every box.
    bare = metrics(diagram.without_frames())
    assert whole.off_canvas_share == 0, name
    assert whole.label_fit == 1.0, name
    assert bare.overlap_count == 0, name
    assert bare.edges_through_nodes == 0, name
    frames = diagram.frames()
    for f in (n for n in diagram.nodes if n.id in frames):
        for n in diagram.nodes:
            if n.id == f.id:
                continue
            a, b = f.box, n.box
            apart = b[0] >= a[2] or b[2] <= a[0] or b[1] >= a[3] or b[3] <= a[1]
            assert apart or contains(f, n) or contains(n, f), (name, f.label, n.label)
    assert render(diagram)[:4] == b"\x89PNG"


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_entry_parses_lays_out_and_renders_clean(entry: catalogue.Entry) -> None:
    _check_drawing(entry.sketch_text, entry.name)
    assert to_diagram(entry.sketch_text).diagram.nodes
    kind = parse_sketch(entry.sketch_text)[0].kind
    assert kind == entry.kind, entry.name
    for label in [n.label for n in to_diagram(entry.sketch_text).diagram.nodes]:
        # a "|" inside a label ("G(z|y)") splits it into two steps: brackets come out unpaired
        assert label.count("(") == label.count(")"), (entry.name, label)


@pytest.mark.parametrize("levels", range(2, catalogue.UNET_MAX_LEVELS + 1))
def test_unet_generator(levels: int) -> None:
    text = unet_sketch(levels)
    _check_drawing(text, f"U-Net {levels}")
    sketch = parse_sketch(text)[0]
    assert len(sketch.steps) == 2 * levels - 1
    skips = [(a, b) for a, b in sketch.edges if b - a > 1]
    assert len(skips) == levels - 1
    with pytest.raises(ValueError):
        unet_sketch(catalogue.UNET_MAX_LEVELS + 1)


def test_unet_entry_is_the_generator_at_five_levels() -> None:
    entry = find("u-net")
    assert entry is not None and entry.sketch_text == unet_sketch(5)


@pytest.mark.parametrize(
    ("request_text", "name"),
    [
        ("draw LeNet-5", "LeNet-5"),
        ("lenet5 please", "LeNet-5"),
        ("a ResNet-18 for 3 classes", "ResNet-18"),
        ("resnet18", "ResNet-18"),
        ("resnet 18 with 224x224 input", "ResNet-18"),
        ("show me a resnet", "ResNet-50"),
        ("can you show me the U-Net architecture", "U-Net"),
        ("Faster R-CNN pipeline", "Faster R-CNN"),
        ("fast rcnn", "Fast R-CNN"),
        ("R-CNN", "R-CNN"),
        ("mask r-cnn for instance segmentation", "Mask R-CNN"),
        ("k-fold cross validation with 5 folds", "k-fold cross-validation"),
        ("explain RLHF", "RLHF"),
        ("the transformer encoder block", "Transformer encoder block"),
        ("a transformer decoder", "Transformer decoder block"),
        ("draw a transformer", "Transformer encoder block"),
        ("VGG16 architecture", "VGG-16"),
        ("how does a GAN work", "GAN"),
        ("DCGAN generator", "DCGAN"),
        ("word2vec skip-gram model", "word2vec skip-gram"),
        ("retrieval-augmented generation (RAG)", "RAG"),
        ("the ReAct agent loop", "Agent loop (ReAct)"),
        ("vision transformer", "ViT"),
        ("LSTM cell diagram", "LSTM cell"),
        ("seq2seq with attention", "Seq2seq with attention"),
        ("a seq2seq model", "Seq2seq"),
        ("multi-head attention", "Multi-head attention"),
        ("scaled dot-product attention", "Scaled dot-product attention"),
        ("federated learning with 3 clients", "Federated learning"),
        ("train/validation/test split", "Train/validation/test split"),
        ("CRISP-DM process", "CRISP-DM"),
        ("gradient boosting", "Gradient boosting"),
        ("k-means clustering", "k-means"),
        ("PCA", "PCA"),
        ("A/B testing a new model", "A/B testing of a model"),
        ("a VQ-VAE figure", "VQ-VAE"),  # a codebook, not the VAE's sampling
        ("ResNet-101 for 5 classes", "ResNet-101"),
        ("draw VGG-19", "VGG-19"),
        ("the GPT-2 architecture", "GPT-2 block"),
        ("a MobileNetV2 block", "MobileNetV2 inverted residual block"),
        ("draw the llama architecture", "LLaMA decoder block"),
        ("CycleGAN for horses to zebras", "CycleGAN"),
        ("a dense block from densenet", "DenseNet dense block"),
        ("vector quantized variational autoencoder", "VQ-VAE"),
        ("a beta-VAE", "VAE"),
        # Two entries named: the one named as the other's part loses, whatever its length.
        ("U-Net with a ResNet-34 encoder", "U-Net"),
        ("a GAN with a U-Net generator", "GAN"),
        ("Faster R-CNN using a ResNet-50 backbone", "Faster R-CNN"),
        ("a ResNet-34 encoder", "ResNet-34"),
        ("a conditional GAN for mnist digits", "Conditional GAN"),
        ("draw a CVAE", "Conditional VAE"),  # one entry: "resnet" inside it is not ResNet-50
    ],
)
def test_find(request_text: str, name: str) -> None:
    entry = find(request_text)
    assert entry is not None and entry.name == name


@pytest.mark.parametrize(
    "request_text",
    [
        "a CNN with 3 conv layers",
        "an MLP 4-8-1",
        "load data, train, evaluate",
        "flowchart: clean the data then deploy",
        "a network with 2 hidden layers of 16",
        "",
    ],
)
def test_find_none(request_text: str) -> None:
    assert find(request_text) is None


@pytest.mark.parametrize(
    ("request_text", "variant"),
    [
        ("draw ResNet-26", "ResNet-26"),  # resnet 18, 34, 50, ... are entries: 26 is not
        ("a resnet 26 please", "resnet 26"),
        ("VGG-13 for cifar", "VGG-13"),
        ("draw a VQ-GAN", "VQ-GAN"),  # joined to more: another architecture
        ("the U-Net++ figure", "U-Net++"),
        ("draw a Siamese LSTM", "Siamese LSTM"),  # a word before that makes another one
        ("a progressive GAN", "progressive GAN"),
    ],
)
def test_a_variant_the_catalogue_lacks_names_no_entry(request_text: str, variant: str) -> None:
    """A known name's variant that has no entry is not drawn as the entry (a confident wrong
    structure); unknown_variant names it for the refusal."""
    assert find(request_text) is None
    assert catalogue.unknown_variant(request_text) == variant


@pytest.mark.parametrize(
    ("request_text", "name"),
    [("a beta-VAE", "VAE"), ("BERT-large for sentiment", "BERT for classification"),
     ("resnet18 for 10 classes", "ResNet-18"), ("U-Net with 4 levels", "U-Net"),
     ("a conditional DCGAN", "DCGAN"), ("an attention U-Net", "U-Net")],  # partial, not wrong
)
def test_words_that_change_no_structure_keep_the_entry(request_text: str, name: str) -> None:
    entry = find(request_text)
    assert entry is not None and entry.name == name
    assert catalogue.unknown_variant(request_text) is None


def _block_lines(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith("blocks:"))
    return line.removeprefix("blocks:").strip().split(" | ")


def _others(a: str, b: str) -> None:
    """Every line but blocks: is the same."""
    rest = [[x for x in t.splitlines() if not x.startswith("blocks:")] for t in (a, b)]
    assert rest[0] == rest[1]


def test_adapt_classes() -> None:
    entry = find("resnet-18")
    assert entry is not None
    text = adapt(entry, "a ResNet-18 for 3 classes")
    old, new = _block_lines(entry.sketch_text), _block_lines(text)
    assert new[-1] == "fc 3" and old[-1] == "fc 1000"
    assert new[:-1] == old[:-1]
    _others(entry.sketch_text, text)
    lenet = find("lenet")
    assert lenet is not None
    assert _block_lines(adapt(lenet, "LeNet-5 with 5 outputs"))[-1] == "output 5"
    assert _block_lines(adapt(lenet, "binary LeNet"))[-1] == "output 2"
    assert _block_lines(adapt(lenet, "LeNet, 26-class letters"))[-1] == "output 26"
    _check_drawing(text, "adapted ResNet-18")


def test_adapt_input_size() -> None:
    entry = find("lenet-5")
    assert entry is not None
    text = adapt(entry, "LeNet-5 for 64x64 RGB images")
    old, new = _block_lines(entry.sketch_text), _block_lines(text)
    assert new[0] == "input 64x64x3" and new[1:] == old[1:]
    _others(entry.sketch_text, text)
    vgg = find("vgg-16")
    assert vgg is not None
    new = _block_lines(adapt(vgg, "VGG-16 with a 256 x 256 input"))
    assert new[0] == "input 256x256x3"  # the entry's channels are kept
    grey = _block_lines(adapt(vgg, "VGG-16 for 128x128 grayscale images and 10 classes"))
    assert grey[0] == "input 128x128x1" and grey[-1] == "softmax 10"
    _check_drawing(adapt(vgg, "VGG-16 for 128x128 grayscale images and 10 classes"), "vgg")


def test_adapt_keeps_everything_else() -> None:
    for e in ENTRIES:
        assert adapt(e, f"draw {e.name}") == e.sketch_text
    flow = find("k-means")
    assert flow is not None and adapt(flow, "k-means for 3 classes") == flow.sketch_text
    kernel = find("alexnet")
    assert kernel is not None and adapt(kernel, "alexnet with 3x3 kernels") == kernel.sketch_text


def test_adapt_unet_levels() -> None:
    entry = find("unet")
    assert entry is not None
    assert adapt(entry, "a U-Net with 3 levels") == unet_sketch(3)
    assert adapt(entry, "a 4-level U-Net") == unet_sketch(4)
    assert adapt(entry, "U-Net with 9 levels") == entry.sketch_text
