"""The layer-stack reader (engine/diagram/spec_stack.py): one test per way a stack is said
that it once misread, each in wording of our own (not from the tuning or dev sets)."""

from __future__ import annotations

import pytest

from engine.diagram.spec import extract_spec
from engine.diagram.spec_stack import stack_blocks


def stack(text: str) -> tuple[str, ...] | None:
    """What extract_spec reads as a stack (None when it reads something else)."""
    spec = extract_spec(text)
    return spec.steps if spec is not None and spec.kind == "stack" else None


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # a bracket's commas stay in its item
        ("input (64 steps, 3 channels), lstm 32, dense 4", ("input 64", "lstm 32", "dense 4")),
        # "&" between two kinds is two blocks
        ("multi-head attention, add & batch norm, dense 512",
         ("multi-head attention", "add", "batch norm", "dense 512")),
        # a repeat count after the kernel is a repeat, not a size ("64 x2")
        ("my cnn:\n- input 48x48x1\n- conv 3x3 16 x2\n- max pool",
         ("input 48x48x1", "conv 3x3 16", "conv 3x3 16", "max pool")),
        # "x4" after an upsample is its scale, not four blocks
        ("conv 1x1 4, upsample x4", ("conv 1x1 4", "upsample")),
        # Keras code: the Sequential([...]) wrapper and empty brackets are no layers
        ("Sequential([Dense(64), ReLU(), Dense(1)])", ("dense 64", "relu", "dense 1")),
    ],
)
def test_items_and_sizes(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # "each followed by X" / "each one, then X": X after every block of the run before it
        ("conv 3x3 (8) -> conv 3x3 (16), each one followed by relu, then flatten",
         ("conv 3x3 8", "relu", "conv 3x3 16", "relu", "flatten")),
        ("input 32x32, 2 conv layers (8, 16 filters) each followed by avg pool, then dense 5",
         ("input 32x32", "conv 8", "avg pool", "conv 16", "avg pool", "dense 5")),
        ("2 conv layers with 8 and 16 filters, each followed by avg pool, then 3 outputs",
         ("conv 8", "avg pool", "conv 16", "avg pool", "output 3")),
        ("2 dense layers of 64 each with tanh after every one, then output 3",
         ("dense 64", "tanh", "dense 64", "tanh", "output 3")),
        # "N blocks, each block is a, b, c, then ...": the block's layers N times
        ("a net with three stages, each stage is conv 3x3, batch norm, relu, then dense 2",
         ("conv 3x3", "batch norm", "relu") * 3 + ("dense 2",)),
        # "N of them" after an arrow chain repeats the chain
        ("conv -> bn -> max pool, three of them, then dense 10",
         ("conv", "bn", "max pool") * 3 + ("dense 10",)),
        # "X repeated N times: a, b." gives the items N times; a loop said first is not read
        # over layers (copies of layers are blocks, not a back edge)
        ("stage repeated 2 times: conv 3x3, relu, max pool. then dense 64, output 5",
         ("conv 3x3", "relu", "max pool") * 2 + ("dense 64", "output 5")),
        ("mel input 64x64 -> (conv 3x3, relu) repeated 2 times -> flatten -> dense 32 -> 4 "
         "output classes",
         ("input 64x64", *("conv 3x3", "relu") * 2, "flatten", "dense 32", "output 4")),
        ("resnet-ish stage repeated 2 times: conv 3x3, relu, max pool. then fc 128, 10 outputs",
         ("conv 3x3", "relu", "max pool") * 2 + ("fc 128", "output 10")),
    ],
)
def test_repeats(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # dense layers named as such are a layer stack, even with no conv or pool
        ("dense 16, dense 8, output 1", ("dense 16", "dense 8", "output 1")),
        ("Input(5) -> Dense(10) -> Dense(2)", ("input 5", "dense 10", "dense 2")),
        # a relu as its own item makes an MLP a stack of its layers
        ("input 6, hidden 12, relu, output 2", ("input 6", "hidden 12", "relu", "output 2")),
        # chat before the list is not a layer, when sized layers follow
        ("hi all, this is my first model, input 10, dense 32, relu, output 2",
         ("input 10", "dense 32", "relu", "output 2")),
        # "hidden layers with A and B nodes" after conv layers: two dense blocks, and the image
        # side is no network's input size
        ("60 x 60 input image, 3 x 3 conv layer (output 58 x 58), two hidden layers with 32 "
         "and 8 nodes, 3 outputs",
         ("input 60x60", "conv 3x3 @58x58", "hidden 32", "hidden 8", "output 3")),
        # "input:" is the first layer, not an intro; "lstm with 64 units," the layer's size
        ("input: 40 x 40, 3 x 3 conv layer (output 38 x 38), 12 nodes in the hidden layer, "
         "2 outputs", ("input 40x40", "conv 3x3 @38x38", "hidden 12", "output 2")),
        ("gru with 64 units, then attention, then a dense layer with 8 units",
         ("gru 64", "attention", "dense 8")),
        # a colon ends an intro of several clauses
        ("mobile-ish thing, keep it simple: depthwise conv, batch norm, relu, global pool",
         ("depthwise conv", "batch norm", "relu", "global pool")),
    ],
)
def test_what_makes_a_stack(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks


@pytest.mark.parametrize(
    "text",
    [
        "relu, tanh, gelu",  # activations alone are no stack
        "sigmoid network, inputs = 3, hidden = 4, outputs = 1",  # an activation that names a net
        "5 inputs, a hidden layer of 8, 2 outputs",  # a node-level network
        "hey there, train a cnn with conv and pool layers",  # chat, and no sizes
    ],
)
def test_not_a_stack(text: str) -> None:
    assert stack_blocks(text) is None


def test_a_sigmoid_network_stays_a_network() -> None:
    spec = extract_spec("sigmoid network, inputs = 3, hidden = 4, outputs = 1")
    assert spec is not None and spec.kind == "network" and spec.layers == (3, 4, 1)


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # "A by B" is a size like "AxB"
        ("96 by 96 input, 5 by 5 conv, pool 3x3, 6 outputs",
         ("input 96x96", "conv 5x5", "pool 3x3", "output 6")),
        # a hidden list after a colon, and the outputs after it are no hidden size
        ("40x40 input, 3x3 conv, max pooling, hidden layers: 300, 30, 9 outputs",
         ("input 40x40", "conv 3x3", "max pooling", "hidden 300", "hidden 30", "output 9")),
        ("20x20 input, 5x5 conv, a hidden layer of 700, 1 output",
         ("input 20x20", "conv 5x5", "hidden 700", "output 1")),
        # "a hidden layer of A and another of B" is two layers
        ("36x36 input, 3x3 conv, avg pool, a hidden layer of 90 and another of 12, 4 classes",
         ("input 36x36", "conv 3x3", "avg pool", "hidden 90", "hidden 12", "output 4")),
        # "N nodes in the hidden layer": one layer, its size
        ("50x50 input, 3x3 conv, 2x2 max pooling, 48 nodes in the hidden layer, 5 outputs",
         ("input 50x50", "conv 3x3", "max pooling 2x2", "hidden 48", "output 5")),
        # stride and padding say how a layer slides: no filter count, no block of their own
        ("70x70 input, 3x3 conv with 12 filters and stride 2, conv 3x3 stride 1 padding 1, "
         "max pool, 2 outputs",
         ("input 70x70", "conv 3x3 12", "conv 3x3", "max pool", "output 2")),
        # a repeat before the bracketed filters
        ("60x60 input, 3x3 conv layer x2 (24 filters), 2x2 max pooling, 3 classes",
         ("input 60x60", "conv 3x3 24", "conv 3x3 24", "max pooling 2x2", "output 3")),
        # the model named first is no layer; what it takes is its input
        ("convnet, input 44x44x1, conv 3x3, max pool, 8 outputs",
         ("input 44x44x1", "conv 3x3", "max pool", "output 8")),
        ("a convnet that takes 72x72 grayscale images, 3x3 conv, pool 2x2, 2 outputs",
         ("input 72x72x1", "conv 3x3", "pool 2x2", "output 2")),
        ("hi, can i get a convnet with 100x100 rgb input, 3x3 conv, max pool, 6 outputs",
         ("input 100x100x3", "conv 3x3", "max pool", "output 6")),
        # a bare "N nodes" is a dense layer's size
        ("32x32 input, 3x3 conv, 2x2 maxpool, 48 nodes, 5 outputs",
         ("input 32x32", "conv 3x3", "maxpool 2x2", "hidden 48", "output 5")),
        # an item that only sizes the layer before it ("conv 3x3, 12 filters (output 20x20)")
        ("- input: 28x28x1\n- conv 3x3, 12 filters\n- conv 5x5, 24 filters (output 20x20)\n"
         "- 7 outputs",
         ("input 28x28x1", "conv 3x3 12", "conv 5x5 24 @20x20", "output 7")),
        # "N channel" is no repeat; "two fully connected layers with 300 nodes each" is
        ("a 1 channel 48x48 input, two fully connected layers with 300 nodes each, 3 outputs",
         ("input 48x48", "fully connected 300", "fully connected 300", "output 3")),
        # "then another one" repeats the layer before; an aside in brackets is no block
        ("96x96 input, then a 5x5 conv layer with 16 filters, then another one, then 2 outputs "
         "(cat or dog)",
         ("input 96x96", "conv 5x5 16", "conv 5x5 16", "output 2")),
        # a chatty first sentence that names the model; "3 by 3 kernels" are no filter count;
        # "N nodes with relu" is the layer and its activation; "nothing else" ends the list
        ("Could you sketch a small convnet for my class. The input is 64x64, then 2 more conv "
         "layers with 3 by 3 kernels, then 128 nodes with relu, then 2 outputs. nothing else",
         ("input 64x64", "conv 3x3", "conv 3x3", "hidden 128", "relu", "output 2")),
        # a number in an intro that counts the model's parts or names a lecture sizes no layer
        ("cnn for lecture 7:\n- 40x40 grayscale input\n- 3x3 conv, 10 filters\n- 2 outputs",
         ("input 40x40x1", "conv 3x3 10", "output 2")),
        ("the full model has two towers, so draw just one tower: input 90x90, conv 5x5 32, "
         "maxpool, flatten, dense 128",
         ("input 90x90", "conv 5x5 32", "maxpool", "flatten", "dense 128")),
        # a competitor's shorthand: its short names are the labels, "|" / ">" / spaces split
        ("in 48x48x1 | c5x5-24 bn+relu | mp2 | do0.3 | gap | out 7",
         ("input 48x48x1", "c5x5-24", "bn", "relu", "mp2", "do0.3", "gap", "output 7")),
        ("c3x3-48 c3x3-48 mp2 flat fc320 softmax",
         ("c3x3-48", "c3x3-48", "mp2", "flat", "fc 320", "softmax")),
        ("64x64 in > c3x3-16 s2 > mp3/2 > fc64 > out 3",
         ("input 64x64", "c3x3-16", "mp3/2", "fc 64", "output 3")),
        # a bare number after a conv is its filters; the outputs' class names are no layers
        ("- inp 60x60x3\n- conv 3x3, 48\n- maxpool 2x2\n- 3 outputs which are red, amber and green",
         ("input 60x60x3", "conv 3x3 48", "maxpool 2x2", "output 3")),
        # typos of the field's words
        ("30 x 30 input, 3 x 3 conv layer, 2 x 2 max poolng layer, 55 nodes in the hiden "
         "layer, 4 ouputs",
         ("input 30x30", "conv 3x3", "max pooling 2x2", "hidden 55", "output 4")),
    ],
)
def test_the_original_projects_cnn_sentences(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks


def test_a_typo_does_not_turn_a_network_into_a_fork() -> None:
    spec = extract_spec("a net with 6 inptus, 8 and 3 hiden nodes for each hiden layer, 2 ouputs")
    assert spec is not None and spec.kind == "network" and spec.layers == (6, 8, 3, 2)


def test_inflections_of_keywords_are_not_typos() -> None:
    spec = extract_spec("collect data, feature engineering, train, evaluate")
    assert spec is not None and "feature engineering" in spec.steps


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # Keras' CamelCase layer names name their kind
        ("draw: Embedding -> GlobalMaxPooling1D -> Dense(8) -> Dense(2)",
         ("embedding", "global max pooling1d", "dense 8", "dense 2")),
        # "repeated twice" after an arrow chain repeats the chain
        ("conv -> relu -> pool, repeated twice, then fc 64",
         ("conv", "relu", "pool", "conv", "relu", "pool", "fc 64")),
        # a first sentence with no size and no layer is chat
        ("hi there, i need a figure for my report. input 28x28, conv 3x3, max pool, dense 10",
         ("input 28x28", "conv 3x3", "max pool", "dense 10")),
        # chat after the list ends it
        ("small mlp for the figure:\ninput 30\ndense 12\ndense 6\nnothing fancy, thanks",
         ("input 30", "dense 12", "dense 6")),
    ],
)
def test_what_people_say_around_a_stack(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks


def test_a_step_after_a_stack_like_list_is_no_chat() -> None:
    """'retrain' is a step: the list stays a flow, not a stack with chat after it."""
    spec = extract_spec("embed tokens, add positions, feed forward, project to vocab, resample")
    assert spec is not None and spec.kind != "stack"


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        # PyTorch: the output size is the second argument; num_layers repeats the layer
        ("here is my model:\n```python\nself.emb = nn.Embedding(8000, 32)\n"
         "self.gru = nn.GRU(32, 96, num_layers=2)\nself.head = nn.Linear(96, 4)\n```",
         ("embedding 32", "gru 96", "gru 96", "linear 4")),
        ("nn.Sequential(nn.Conv2d(3, 24, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), "
         "nn.Linear(600, 9))",
         ("conv2d 24", "relu", "max pool2d", "flatten", "linear 9")),
        # Keras: the size comes first; Input(shape=...) is the input's map
        ("Sequential([Input(shape=(32, 32, 3)), Conv2D(8, (5, 5)), AveragePooling2D(), "
         "Flatten(), Dense(20)])",
         ("input 32x32x3", "conv2d 8", "average pooling2d", "flatten", "dense 20")),
    ],
)
def test_pasted_layer_code(text: str, blocks: tuple[str, ...]) -> None:
    assert stack(text) == blocks
