"""`diagrammer bench render`: renders per second on one core, PNG encoding included, and the
same for the SVG drawing of the same diagram (engine/diagram/svg.py), side by side.

The headline is a 15-node network (3-5-5-2, fully connected: 50 arrows, labelled circles),
the diagram size a typical request produces. A sweep over 5..60 nodes shows how the time
grows for networks (edges grow quadratically) and for flows (one box per step), and a
table shows what each PNG compression level costs and saves. Caches of pure helpers
(label fits, outlines) are cleared before every timed render, so each render pays for
everything, as a never-seen diagram would. PNG and SVG renders alternate, so that both
see the same load on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

HELP = "renders per second of a 15-node diagram on one core, PNG and SVG"
SWEEP = (5, 10, 15, 20, 30, 40, 50, 60)
LEVELS = (0, 1, 2, 3, 6, 9)
FORMATS = ("png", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=300, help="timed renders of the headline")
    parser.add_argument("--sweep-n", type=int, default=40, help="timed renders per sweep point")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="plot and JSON here")


def run(args: argparse.Namespace) -> int:
    import cv2

    from diagrammer.errors import UserError

    if args.n < 1 or args.sweep_n < 1:
        raise UserError("--n and --sweep-n must be at least 1")
    threads = cv2.getNumThreads()
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    cv2.setNumThreads(1)
    if cores:  # one core, also for anything outside OpenCV
        os.sched_setaffinity(0, {min(cores)})
    try:
        return _bench(args)
    finally:
        cv2.setNumThreads(threads)
        if cores:
            os.sched_setaffinity(0, cores)


def _bench(args: argparse.Namespace) -> int:
    import numpy as np

    timed = _time(_network(15), args.n)
    heads = {fmt: _summary(*timed[fmt]) for fmt in FORMATS}
    head = heads["png"]
    print("render, one core, 15-node network (3-5-5-2, 50 arrows), PNG / SVG text included")
    print("renders/s: wall clock; per CPU s: the thread's own CPU time, without waiting for a")
    print("busy core; ms: wall clock per render (min: the least disturbed one)")
    columns = ("renders/s", "per CPU s", "ms p50", "ms p95", "ms min", "bytes")
    print(f"{'':>6}", " ".join(f"{c:>10}" for c in columns))
    for fmt, h in heads.items():
        values = [h[k] for k in ("renders_per_s", "renders_per_cpu_s")]
        values += [h[k] for k in ("ms_p50", "ms_p95", "ms_min")]
        print(
            f"{fmt.upper():>6}",
            " ".join(f"{v:>10.0f}" for v in values[:2]),
            " ".join(f"{v:>10.2f}" for v in values[2:]),
            f"{h['bytes']:>10}",
        )

    levels = _png_levels(_network(15), max(3, args.n // 10))
    print("\nPNG encoding of that picture (filter: none unless said)")
    print(f"{'zlib level':>14} {'ms':>7} {'bytes':>8}")
    for name, (t, size) in levels.items():
        print(f"{name:>14} {t:>7.2f} {size:>8}")

    kinds = {"network": _network, "flow": _flow}
    sweep = {f"{kind} {fmt}": [] for kind in kinds for fmt in FORMATS}
    print("\nCPU ms per render (p50) by number of nodes")
    print(f"{'nodes':>6}", " ".join(f"{name:>11}" for name in sweep))
    for n in SWEEP:
        for kind, make in kinds.items():
            timed = _time(make(n), args.sweep_n)
            for fmt in FORMATS:  # CPU time: steadier
                sweep[f"{kind} {fmt}"].append(float(np.median(timed[fmt][1])))
        print(f"{n:>6}", " ".join(f"{ms[-1]:>11.2f}" for ms in sweep.values()))

    per_kind = _per_kind(max(5, args.sweep_n))
    print("\nby kind (hand-written sketches of docs/sketch.md; `catalogue`: every entry, one")
    print("render each per round): renders/s on one core (wall, caches cleared)")
    print(f"{'kind':>10} {'diagrams':>8} {'nodes':>6}", " ".join(f"{f + '/s':>8}" for f in FORMATS))
    for kind, row in per_kind.items():
        rates = " ".join(f"{row[f]:>8.0f}" for f in FORMATS)
        print(f"{kind:>10} {row['diagrams']:>8} {row['nodes']:>6.0f} {rates}")

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "per_kind": per_kind,
        "headline": head,
        "headline_svg": heads["svg"],
        "png_levels": levels,
        "nodes": SWEEP,
        "sweep_ms_p50": sweep,
    }
    (args.out / "render.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(sweep, heads, args.out / "render.png")
    print(f"\nwrote {args.out / 'render.png'} and {args.out / 'render.json'}")
    return 0


def _network(n: int):
    """A fully connected, labelled network of n nodes in 4 layers as even as possible, except
    that 15 nodes give the typical 3-5-5-2 of the headline."""
    from engine.diagram.layout import layout
    from engine.diagram.sketch import Sketch

    layers = (3, 5, 5, 2) if n == 15 else tuple(n // 4 + (i < n % 4) for i in range(4))
    return layout(Sketch(layers=layers, labels=("x", "h", "h", "y"), size=(44, 44)))


def _flow(n: int):
    """A chain of n labelled round rectangles (snaking over several lines when long)."""
    from engine.diagram.layout import layout
    from engine.diagram.sketch import Sketch

    steps = tuple(f"step {i + 1} of the flow" for i in range(n))
    return layout(Sketch(steps=steps, shape="round rectangle", size=(150, 50)))


KIND_SKETCHES = {
    "stack": "blocks: input 64x64x1 | conv 7x7 8 | avg pool | conv 3x3 24 | flatten | dense 256"
    " | output 5\nshape: rectangle 100x50",
    "dataflow": "steps: [picture] | python file | [text] | [matrices] | pca | [chart] | cnn model\n"
    "edges: 1>2 2>3 2>4 4>5 5>6 3>7 7>6\ndirection: down",
    "graph": "steps: load data | train model | evaluate | deploy | tune\n"
    "edges: 1>2 2>3 3>4[good] 3>5[else] 5>2",
    "skip": "blocks: input | conv 3x3 64 | batch norm | relu | conv 3x3 64 | batch norm | add | "
    "relu\nedges: 1>2 2>3 3>4 4>5 5>6 6>7 7>8 1>7[identity]",
    "group": "blocks: input 64x64x1 | conv 7x7 8 | avg pool | conv 3x3 24 | dense 256 | output 5"
    "\ngroups: 2-4 features | 5-6 head",
}


def _per_kind(n: int) -> dict[str, dict[str, float]]:
    """Renders per second of each kind: the network of the headline, a plain flow, one
    hand-written sketch of each v2 kind, and every catalogue entry."""
    from engine.catalogue import catalogue
    from engine.diagram.read import to_diagram

    diagrams = {"network": [_network(15)], "flow": [_flow(6)]}
    diagrams |= {k: [to_diagram(text).diagram] for k, text in KIND_SKETCHES.items()}
    diagrams["catalogue"] = [to_diagram(e.sketch_text).diagram for e in catalogue.entries()]
    out = {}
    for kind, group in diagrams.items():
        rounds = max(1, n // len(group)) if len(group) > 1 else n
        walls = {fmt: [] for fmt in FORMATS}
        for d in group:
            timed = _time(d, rounds)
            for fmt in FORMATS:
                walls[fmt] += timed[fmt][0]
        out[kind] = {"diagrams": len(group), "nodes": sum(len(d.nodes) for d in group) / len(group)}
        out[kind] |= {fmt: len(w) / (sum(w) / 1000) for fmt, w in walls.items()}
    return out


def _summary(wall: list[float], cpu: list[float], size: int) -> dict[str, float]:
    import numpy as np

    return {
        "renders_per_s": len(wall) / (sum(wall) / 1000),
        "renders_per_cpu_s": len(cpu) / (sum(cpu) / 1000),
        "ms_p50": float(np.percentile(wall, 50)),
        "ms_p95": float(np.percentile(wall, 95)),
        "ms_min": float(min(wall)),
        "bytes": size,
    }


def _time(diagram, n: int) -> dict[str, tuple[list[float], list[float], int]]:
    """Per format: wall and CPU milliseconds per render (cold caches), and the output's size
    in bytes (the SVG as UTF-8). The formats take turns, render by render."""
    from engine.diagram import label_fit, render, svg

    draw = {"png": render.render, "svg": lambda d: svg.render_svg(d).encode()}
    out = {fmt: ([], [], len(draw[fmt](diagram))) for fmt in FORMATS}  # warm up imports
    for _ in range(n):
        for fmt in FORMATS:
            label_fit.fit_label.cache_clear()
            render._outline.cache_clear()
            t0, c0 = time.perf_counter(), time.thread_time()
            draw[fmt](diagram)
            out[fmt][1].append((time.thread_time() - c0) * 1000)
            out[fmt][0].append((time.perf_counter() - t0) * 1000)
    return out


def _png_levels(diagram, n: int) -> dict[str, tuple[float, int]]:
    """Median ms and bytes of encoding the same picture at each zlib level."""
    import cv2
    import numpy as np

    from engine.diagram import render

    img = render._draw(diagram)
    out = {}
    options = [(f"{lv}", lv, cv2.IMWRITE_PNG_FILTER_NONE) for lv in LEVELS]
    options.append(("1, adaptive", 1, cv2.IMWRITE_PNG_ALL_FILTERS))
    for name, level, png_filter in options:
        params = [cv2.IMWRITE_PNG_COMPRESSION, level, cv2.IMWRITE_PNG_FILTER, png_filter]
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            size = len(cv2.imencode(".png", img, params)[1])
            times.append((time.perf_counter() - t0) * 1000)
        mark = " *" if params == render.PNG_PARAMS else ""
        out[name + mark] = (float(np.median(times)), size)
    return out


def _plot(sweep: dict[str, list[float]], heads: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(SWEEP, sweep["network png"], "o-", c="C0", label="network PNG, 4 layers, all linked")
    ax.plot(SWEEP, sweep["flow png"], "s-", c="C1", label="flow PNG, labelled boxes in a chain")
    ax.plot(SWEEP, sweep["network svg"], "o:", c="C0", mfc="none", label="network SVG")
    ax.plot(SWEEP, sweep["flow svg"], "s:", c="C1", mfc="none", label="flow SVG")
    ax.axhline(10, color="grey", ls="--", lw=1, label="10 ms = 100 renders/s")
    ax.set_xlabel("nodes")
    ax.set_ylabel("CPU ms per render (p50), encoding included")
    ax.set_title(
        "render on one core, 15 nodes: "
        + ", ".join(f"{fmt.upper()} {heads[fmt]['renders_per_s']:.0f}/s" for fmt in FORMATS)
        + f" (wall); {heads['png']['bytes'] // 1024} KiB PNG"
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
