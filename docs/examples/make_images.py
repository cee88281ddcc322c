"""Draw the README's example pictures from hand-written diagrams.

Run from the repository root: `python docs/examples/make_images.py` (writes docs/images/).
"""

from __future__ import annotations

from pathlib import Path

from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node
from engine.diagram.render import render

OUT = Path(__file__).resolve().parents[1] / "images"


def mlp(layers: tuple[int, ...], labels: tuple[str, ...]) -> Diagram:
    """A fully connected network, left to right, layers evenly spaced."""
    fills = [(187, 222, 251), (255, 224, 178), (255, 224, 178), (200, 230, 201)]
    size, gap = 56, 80
    ids = []
    next_id = 0
    for n in layers:
        ids.append(list(range(next_id, next_id + n)))
        next_id += n
    nodes = []
    for i, (layer, label) in enumerate(zip(ids, labels, strict=True)):
        x = round(CANVAS_W * (i + 1) / (len(layers) + 1))
        targets = tuple(ids[i + 1]) if i + 1 < len(layers) else ()
        for j, node_id in enumerate(layer):
            y = round(CANVAS_H / 2 + (j - (len(layer) - 1) / 2) * gap)
            fill = fills[0] if i == 0 else fills[-1] if i == len(layers) - 1 else fills[1]
            nodes.append(
                Node(
                    node_id,
                    x,
                    y,
                    "circle",
                    size,
                    size,
                    "solid arrow",
                    fill,
                    (55, 71, 79),
                    targets,
                    f"{label}{j + 1}",
                )
            )
    return Diagram(tuple(nodes))


def flow() -> Diagram:
    """An ML process with a decision and a tuning loop back to training."""
    line, size = (38, 50, 56), (180, 64)
    steps = [
        (0, 130, 140, "collect data", (227, 242, 253), (1,)),
        (1, 370, 140, "clean and split data", (227, 242, 253), (2,)),
        (2, 610, 140, "train model", (255, 243, 224), (3,)),
        (3, 850, 140, "evaluate on validation set", (255, 243, 224), (4,)),
        (4, 850, 320, "good enough?", (243, 229, 245), (5, 6)),
        (5, 610, 320, "tune hyper-parameters", (255, 235, 238), (2,)),
        (6, 850, 490, "deploy", (232, 245, 233), (7,)),
        (7, 610, 490, "monitor in production", (232, 245, 233), ()),
    ]
    nodes = []
    for node_id, x, y, label, fill, targets in steps:
        shape, wh = ("circle", (160, 96)) if label.endswith("?") else ("round rectangle", size)
        nodes.append(Node(node_id, x, y, shape, *wh, "solid arrow", fill, line, targets, label))
    return Diagram(tuple(nodes))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "example_mlp.png").write_bytes(render(mlp((2, 4, 6, 1), ("x", "h", "g", "y"))))
    (OUT / "example_flow.png").write_bytes(render(flow()))


if __name__ == "__main__":
    main()
