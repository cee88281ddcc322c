"""Node-level neural networks (MLPs): layer sizes, and the many ways people ask for one.

Every request states every layer size exactly once, in words a reader cannot misread; it
never calls the network a CNN (the original project's data did, in two cases of three).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from training.data.wording import Words

UNITS = ("neurons", "nodes", "units", "neurons", "nodes")
NETS = (
    "neural network", "MLP", "multilayer perceptron", "multi-layer perceptron",
    "feedforward network", "feed-forward neural net", "fully connected network",
    "fully-connected NN", "dense network", "deep learning model", "NN", "neural net", "ANN",
    "artificial neural network", "simple neural network", "small neural network", "DNN",
    "deep neural network", "feedforward neural network", "MLP model", "network", "net",
)  # fmt: skip
TASKS = (
    "", "", "", "", "classifier ", "regression ", "toy ", "simple ", "small ", "basic ",
)  # fmt: skip


def network_layers(rng: random.Random) -> tuple[int, ...]:
    """2-6 layers of 1-12 nodes: inputs first; sometimes equal hidden sizes or an autoencoder."""
    count = rng.choices((2, 3, 4, 5, 6), weights=(1, 5, 5, 2, 1))[0]
    roll = rng.random()
    if roll < 0.08 and count in (3, 5):  # autoencoder: mirror image around a bottleneck
        half = sorted(rng.sample(range(1, 13), (count + 1) // 2), reverse=True)
        return tuple(half + half[-2::-1])
    inputs = rng.choice((1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12))
    outputs = rng.choice((1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 10))
    hidden = [rng.randint(2, 12) for _ in range(count - 2)]
    if roll < 0.4 and hidden:
        hidden = [hidden[0]] * len(hidden)
    return (inputs, *hidden, outputs)


class _Say:
    """Phrase pieces for one network request."""

    def __init__(self, w: Words, layers: Sequence[int]) -> None:
        self.w = w
        self.layers = list(layers)
        self.unit_word = w.pick(UNITS)

    def unit(self, n: int) -> str:
        return self.unit_word[:-1] if n == 1 else self.unit_word

    def count(self, n: int) -> str:
        return f"{self.w.num(n)} {self.unit(n)}"

    def net(self) -> str:
        return self.w.pick(TASKS) + self.w.pick(NETS)

    def a_net(self) -> str:
        return self.w.with_article(self.net())

    def inp(self) -> str:
        n, w = self.layers[0], self.w
        options = [
            f"{w.num(n)} input{'s' if n > 1 else ''}",
            f"{w.num(n)} input {self.unit(n)}",
            f"{w.num(n)} input feature{'s' if n > 1 else ''}",
            f"{w.num(n)} feature{'s' if n > 1 else ''}",
            f"an input layer of {self.count(n)}",
            f"an input layer with {self.count(n)}",
            f"{self.count(n)} in the input layer",
            f"input size {n}",
        ]
        return w.pick(options)

    def out(self) -> str:
        n, w = self.layers[-1], self.w
        options = [
            f"{w.num(n)} output{'s' if n > 1 else ''}",
            f"{w.num(n)} output {self.unit(n)}",
            f"an output layer of {self.count(n)}",
            f"an output layer with {self.count(n)}",
            f"{self.count(n)} in the output layer",
            f"output size {n}",
        ]
        if n == 1:
            options += ["a single output", "one output", f"a single output {self.unit(1)}"]
        else:
            options += [f"{w.num(n)} output classes"]
        return w.pick(options)

    def hidden(self) -> str:
        """All hidden layers in one phrase ('two hidden layers of 8 neurons each')."""
        hid, w = self.layers[1:-1], self.w
        k = len(hid)
        if k == 0:
            return w.pick(("no hidden layer", "no hidden layers", "zero hidden layers"))
        sizes = [w.num(n) for n in hid]
        if k == 1:
            return w.pick(
                (
                    f"one hidden layer of {self.count(hid[0])}",
                    f"a hidden layer with {self.count(hid[0])}",
                    f"{self.count(hid[0])} in a single hidden layer",
                    f"{w.num(hid[0])} hidden {self.unit(hid[0])}",
                    f"a single hidden layer of {self.count(hid[0])}",
                    f"1 hidden layer with {self.count(hid[0])}",
                )
            )
        options = [
            f"hidden layers of {w.join(sizes)} {self.unit(2)}",
            f"{w.join(sizes)} {self.unit(2)} in {w.num(k)} hidden layers",
            f"{w.num(k)} hidden layers with {w.join(sizes)} {self.unit(2)}",
            f"{w.num(k)} hidden layers of sizes {', '.join(map(str, hid))}",
            "hidden layers: " + " and ".join(map(str, hid)),
            self.ordinal_hidden(),
        ]
        if len(set(hid)) == 1:
            n = hid[0]
            options += [
                f"{w.num(k)} hidden layers of {self.count(n)} each",
                f"{w.num(k)} hidden layers, each with {self.count(n)}",
                f"{w.num(k)} hidden layers with {self.count(n)} each",
                f"{w.num(k)} hidden layers of {w.num(n)}",
            ]
        return w.pick(options)

    def ordinal_hidden(self) -> str:
        hid, w = self.layers[1:-1], self.w
        parts = [f"a first hidden layer of {self.count(hid[0])}"]
        parts += [f"a {w.ordinal(i + 1)} of {self.count(n)}" for i, n in enumerate(hid[1:], 1)]
        return w.join(parts)

    def roles(self) -> list[str]:
        """Input, hidden and output phrases (the hidden one may say there is none)."""
        return [self.inp(), self.hidden(), self.out()]

    def dashes(self) -> str:
        sep = self.w.pick(("-", "-", " - ", "-", " -> ", " → ", "/"))
        return sep.join(map(str, self.layers))


def _t(say: _Say) -> str:
    w = say.w
    i, h, o = say.roles()
    return f"{w.opener()} {say.a_net()} with {i}, {h} and {o}"


def _t_order_out_first(say: _Say) -> str:
    i, h, o = say.roles()
    return f"{say.a_net()} with {o}, {i} and {h}"


def _t_hidden_first(say: _Say) -> str:
    i, h, o = say.roles()
    return f"{say.w.opener()} {say.a_net()}: {h}, {i}, {o}"


def _t_dash(say: _Say) -> str:
    w = say.w
    noun = w.with_article(w.pick(("MLP", "neural network", "NN", "network")))
    return f"{w.opener()} {noun} {say.dashes()}"


def _t_dash_noun_last(say: _Say) -> str:
    return f"{say.w.opener()} a {say.dashes()} {say.w.pick(('MLP', 'network', 'neural net', 'nn'))}"


def _t_brackets(say: _Say) -> str:
    return f"{say.a_net()} with layer sizes [{', '.join(map(str, say.layers))}]"


def _t_layer_sizes(say: _Say) -> str:
    sizes = say.w.join([str(n) for n in say.layers])
    return f"{say.w.opener()} {say.a_net()} with layer sizes {sizes}"


def _t_takes_outputs(say: _Say) -> str:
    i, h, o = say.roles()
    verb = say.w.pick(("takes", "has", "gets", "accepts"))
    gives = say.w.pick(("outputs", "produces", "gives"))
    return f"{say.a_net()} that {verb} {i} and {gives} {_bare_out(say)}, with {h}"


def _bare_out(say: _Say) -> str:
    n = say.layers[-1]
    return say.w.pick(
        (
            f"{say.w.num(n)} value{'s' if n > 1 else ''}",
            f"{say.w.num(n)} output{'s' if n > 1 else ''}",
        )
    )


def _t_enumerate_layers(say: _Say) -> str:
    parts = [f"layer {k + 1}: {say.count(n)}" for k, n in enumerate(say.layers)]
    return f"{say.a_net()}. " + ", ".join(parts)


def _t_ordinal_layers(say: _Say) -> str:
    w = say.w
    parts = [
        f"the {w.ordinal(k + 1)} layer has {say.count(n)}" for k, n in enumerate(say.layers[:-1])
    ]
    parts.append(f"the last layer has {say.count(say.layers[-1])}")
    return f"{w.opener()} {say.a_net()} where {w.join(parts)}"


def _t_arrows_roles(say: _Say) -> str:
    w = say.w
    hid = say.layers[1:-1]
    arrow = w.pick((" -> ", " → ", " => ", " to "))
    parts = [f"{w.num(say.layers[0])} inputs"] + [f"{w.num(n)} hidden" for n in hid]
    parts.append(f"{w.num(say.layers[-1])} output{'s' if say.layers[-1] > 1 else ''}")
    return f"{say.net()}: " + arrow.join(parts) + ("" if hid else ", no hidden layer")


def _t_casual_in_out(say: _Say) -> str:
    w = say.w
    hid = say.layers[1:-1]
    middle = ", ".join(f"{w.num(n)} hidden" for n in hid) if hid else "no hidden layer"
    noun = w.pick(("nn", "net", "mlp", "network"))
    return f"{noun} with {w.num(say.layers[0])} in, {middle}, {w.num(say.layers[-1])} out"


def _t_sentences(say: _Say) -> str:
    w = say.w
    n_in, hid, n_out = say.layers[0], say.layers[1:-1], say.layers[-1]
    first = f"The input layer has {say.count(n_in)}."
    if not hid:
        middle = "There is no hidden layer."
    elif len(hid) == 1:
        middle = f"There is one hidden layer with {say.count(hid[0])}."
    else:
        sizes = w.join([w.num(n) for n in hid])
        middle = f"There are {w.num(len(hid))} hidden layers with {sizes} {say.unit(2)}."
    last = f"The output layer has {say.count(n_out)}."
    return f"{w.opener()} {say.a_net()}. {first} {middle} {last}"


def _t_feeds(say: _Say) -> str:
    w = say.w
    n_in, hid, n_out = say.layers[0], say.layers[1:-1], say.layers[-1]
    verb = "feeds" if n_in == 1 else "feed"  # the inputs feed; each hidden layer "which feeds"
    chain = f"{w.num(n_in)} input feature{'s' if n_in > 1 else ''}"
    for n in hid:
        chain += f" {verb} into a hidden layer of {say.count(n)}, which"
        verb = "feeds"
    chain += f" {verb} into {w.num(n_out)} output{'s' if n_out > 1 else ''}"
    if not hid:
        chain += " directly, no hidden layer"
    return f"I want to show {say.a_net()} where {chain}"


def _t_question(say: _Say) -> str:
    i, h, o = say.roles()
    ask = say.w.pick(("can you", "could you", "would you"))
    return f"{ask} draw me {say.a_net()} with {i}, {h} and {o}?"


def _t_presentation(say: _Say) -> str:
    w = say.w
    i, h, o = say.roles()
    why = w.pick(("For my presentation", "For a lecture", "For my thesis", "For a blog post",
                  "For class tomorrow", "For the slides"))  # fmt: skip
    return f"{why} I need a figure of {say.a_net()}: {i}, {h}, {o}."


def _t_code_kwargs(say: _Say) -> str:
    hid = say.layers[1:-1]
    return f"MLP(in={say.layers[0]}, hidden=[{', '.join(map(str, hid))}], out={say.layers[-1]})"


def _t_torch(say: _Say) -> str:
    pairs = list(zip(say.layers, say.layers[1:], strict=False))
    act = say.w.pick(("ReLU()", "Tanh()", "Sigmoid()", "ReLU()"))
    parts = [f"Linear({a}, {b})" for a, b in pairs]
    body = f", {act}, ".join(parts)
    return f"{say.w.pick(('draw', 'visualize', 'diagram for', ''))} nn.Sequential({body})"


def _t_keras(say: _Say) -> str:
    dense = ", ".join(f"Dense({n})" for n in say.layers[1:])
    return f"keras model: Input(shape=({say.layers[0]},)), {dense} - draw it as a network"


def _t_classifier(say: _Say) -> str:
    n_out = say.layers[-1]
    if n_out < 2:
        return _t(say)
    w = say.w
    return f"a classifier network for {w.num(n_out)} classes with {say.inp()} and {say.hidden()}"


def _t_regression(say: _Say) -> str:
    return f"regression net: {say.inp()}, {say.hidden()}, {say.out()}"


def _t_colon_fields(say: _Say) -> str:
    hid = say.layers[1:-1]
    hidden = ", ".join(map(str, hid)) if hid else "none"
    n_in, n_out = say.layers[0], say.layers[-1]
    return f"Make a feed-forward NN. Inputs: {n_in}. Hidden: {hidden}. Outputs: {n_out}."


def _t_w_slash(say: _Say) -> str:
    hid = say.layers[1:-1]
    if not hid:
        return _t_casual_in_out(say)
    w = say.w
    return (
        f"MLP w/ {w.num(say.layers[0])} inputs, {w.num(len(hid))} hidden "
        f"layer{'s' if len(hid) > 1 else ''} ({' & '.join(map(str, hid))} {say.unit(2)}), "
        f"{w.num(say.layers[-1])} output{'s' if say.layers[-1] > 1 else ''}"
    )


def _t_widths(say: _Say) -> str:
    return f"dense network, layer widths {' → '.join(map(str, say.layers))}"


def _t_role_list(say: _Say) -> str:
    w = say.w
    n_in, hid, n_out = say.layers[0], say.layers[1:-1], say.layers[-1]
    parts = [f"{w.num(n_in)} neurons in the input layer"]
    parts += [f"{w.num(n)} in hidden layer {k + 1}" for k, n in enumerate(hid)]
    parts.append(f"{w.num(n_out)} in the output layer")
    return f"An ANN: {', '.join(parts)}"


def _t_equals(say: _Say) -> str:
    hid = say.layers[1:-1]
    parts = [f"input layer = {say.layers[0]}"]
    parts += [f"hidden layer {k + 1} = {n}" for k, n in enumerate(hid)]
    parts.append(f"output = {say.layers[-1]}")
    return "Neural network diagram. " + ", ".join(parts)


def _t_through(say: _Say) -> str:
    w = say.w
    hid = say.layers[1:-1]
    if not hid:
        return _t(say)
    return (
        f"{say.a_net()} going from {w.num(say.layers[0])} inputs through hidden layers of "
        f"{w.join([w.num(n) for n in hid])} {say.unit(2)} to "
        f"{w.num(say.layers[-1])} output{'s' if say.layers[-1] > 1 else ''}"
    )


def _t_slash_roles(say: _Say) -> str:
    w = say.w
    hid = say.layers[1:-1]
    parts = [f"{w.num(say.layers[0])} in"] + [f"{w.num(n)} hidden" for n in hid]
    parts.append(f"{w.num(say.layers[-1])} out")
    return f"network {' / '.join(parts)}"


def _t_go_in_come_out(say: _Say) -> str:
    w = say.w
    n_in, n_out = say.layers[0], say.layers[-1]
    return (
        f"{w.num(n_in)} features go in, {w.num(n_out)} prediction{'s' if n_out > 1 else ''} "
        f"come{'s' if n_out == 1 else ''} out, and in between {say.hidden()}. draw that {say.net()}"
    )


def _t_perceptron(say: _Say) -> str:
    if say.layers[1:-1]:
        return _t_through(say)
    w = say.w
    n_in, n_out = say.layers
    ins = f"{w.num(n_in)} input{'s' if n_in > 1 else ''}"
    return f"a perceptron with {ins} and {w.num(n_out)} output{'s' if n_out > 1 else ''}"


def _t_autoencoder(say: _Say) -> str:
    layers = say.layers
    mirrored = len(layers) >= 3 and layers == layers[::-1] and len(set(layers)) > 1
    if not mirrored:
        return _t_sentences(say)
    w = say.w
    k = len(layers) // 2
    side = layers[1:k]
    sides = f", with {w.join([w.num(n) for n in side])} {say.unit(2)} on each side" if side else ""
    return (
        f"{w.pick(('an autoencoder', 'a small autoencoder', 'an auto-encoder'))} network with "
        f"{w.num(layers[0])} inputs, a bottleneck of {say.count(layers[k])} and "
        f"{w.num(layers[-1])} outputs{sides}"
    )


def _t_short(say: _Say) -> str:
    return f"{say.w.pick(('mlp', 'MLP', 'nn', 'NN'))} {say.dashes()}"


def _t_architecture(say: _Say) -> str:
    w = say.w
    hid = say.layers[1:-1]
    middle = " | ".join(f"{n} hidden" for n in hid) or "no hidden"
    n_in, n_out, kind = say.layers[0], say.layers[-1], w.pick(("fully connected", "dense", "mlp"))
    ins, outs = f"{n_in} input {say.unit(n_in)}", f"{n_out} output {say.unit(n_out)}"
    return f"architecture: {ins} | {middle} | {outs}, {kind}"


def _t_want_hidden(say: _Say) -> str:
    w = say.w
    i, h, o = say.roles()
    return f"{w.pick(('I want', 'I need', 'need', 'want'))} {h} in {say.a_net()} with {i} and {o}"


def _t_long(say: _Say) -> str:
    w = say.w
    i, h, o = say.roles()
    who = w.pick(("a class", "my students", "a workshop"))
    return (
        f"Hi! I'm teaching {who} about neural networks "
        f"and would love a clean diagram of {say.a_net()}. It should have {i}, then {h}, "
        f"and finally {o}. Thanks a lot"
    )


def _t_has(say: _Say) -> str:
    i, h, o = say.roles()
    return f"{say.net()} has {i}. it has {h}. and {o}"


def _t_minimal(say: _Say) -> str:
    i, h, o = say.roles()
    return f"{i}, {h}, {o}"


def _t_fully_connected(say: _Say) -> str:
    w = say.w
    n_in, hid, n_out = say.layers[0], say.layers[1:-1], say.layers[-1]
    parts = [f"{w.num(n_in)} input {say.unit(n_in)}"]
    parts += [f"{w.num(n)} hidden {say.unit(n)}" for n in hid]
    parts.append(f"{w.num(n_out)} output {say.unit(n_out)}")
    return " fully connected to ".join(parts)


TEMPLATES: tuple[Callable[[_Say], str], ...] = (
    _t, _t, _t_order_out_first, _t_hidden_first, _t_dash, _t_dash_noun_last, _t_brackets,
    _t_layer_sizes, _t_takes_outputs, _t_enumerate_layers, _t_ordinal_layers, _t_arrows_roles,
    _t_casual_in_out, _t_sentences, _t_feeds, _t_question, _t_presentation, _t_code_kwargs,
    _t_torch, _t_keras, _t_classifier, _t_regression, _t_colon_fields, _t_w_slash, _t_widths,
    _t_role_list, _t_equals, _t_through, _t_slash_roles, _t_go_in_come_out, _t_perceptron,
    _t_autoencoder, _t_short, _t_architecture, _t_want_hidden, _t_long, _t_has, _t_minimal,
    _t_fully_connected,
)  # fmt: skip


def describe_network(layers: Sequence[int], w: Words) -> tuple[str, str]:
    """A request for this network, and the name of the template that wrote it."""
    template = w.rng.choice(TEMPLATES)
    return template(_Say(w, layers)), template.__name__
