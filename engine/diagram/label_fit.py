"""How a node's label fits inside the node: font scale, line wrapping, readability.

Validation ("label does not fit") and the renderer both call `fit_label`, so they agree
exactly: both measure with the same font through cv2.getTextSize.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# DUPLEX is the bolder face; thin strokes fade when Discord scales the picture down.
FONT = cv2.FONT_HERSHEY_DUPLEX
THICKNESS = 1
# Discord shows the 1000 x 600 PNG about 400-550 px wide, i.e. scaled by 0.40-0.55. At scale
# 0.55 a capital is ~11.5 canvas px tall (OpenCV 5's built-in sans; ~12 px with 4.x's Hershey),
# ~5-6 px on screen at 0.45-0.5: the size of a 7-8 pt UI font, the smallest we found legible
# when we scaled rendered labels down to 450 px and looked. Smaller text is reported unfit.
MIN_SCALE = 0.55
MAX_SCALE = 0.9  # bigger labels only crowd a diagram
STEP = 0.05  # scales live on this grid, so equal inputs give equal pictures
ELLIPSIS = ".."  # the Hershey fonts of OpenCV 4 have no "…"
RECT_PAD = 6  # px kept free between a box's border and its text
CIRCLE_PAD = 2  # px between the text block's corners and a circle's outline


@dataclass(frozen=True)
class LabelFit:
    """fits: readable at or above MIN_SCALE; lines: what to draw, top to bottom."""

    fits: bool
    scale: float
    lines: tuple[str, ...]
    thickness: int = THICKNESS


def _ink_extent(text: str) -> tuple[int, int]:
    """Rows of ink above and below the baseline of `text` at scale 1 (font-version proof)."""
    img = np.zeros((120, 120), np.uint8)
    cv2.putText(img, text, (10, 80), FONT, 1.0, 255, THICKNESS, cv2.LINE_AA)
    rows = np.nonzero(img.any(axis=1))[0]
    return 80 - int(rows.min()), int(rows.max()) - 80 + 1


CAP, _ = _ink_extent("H")  # capital height at scale 1
_, DESCENT = _ink_extent("g")  # descender depth at scale 1
LINE_GAP = 0.2  # between lines, as a share of the capital height


def text_block(n_lines: int, scale: float) -> tuple[float, float]:
    """(height of n lines' ink from the first capital's top, baseline-to-baseline pitch)."""
    pitch = (CAP * (1 + LINE_GAP) + DESCENT) * scale
    return (CAP + DESCENT) * scale + (n_lines - 1) * pitch, pitch


def drawable(text: str) -> str:
    """The text as OpenCV can take it: a lone surrogate ("\\ud800", from JSON) crashes
    cv2.getTextSize and cv2.putText, so anything UTF-8 cannot hold becomes '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def text_width(text: str, scale: float) -> int:
    return cv2.getTextSize(drawable(text), FONT, scale, THICKNESS)[0][0]


def room(box_w: int, box_h: int, shape: str, block_h: float) -> tuple[float, float]:
    """(width, height) that a text block block_h px tall may use inside the node.

    A rectangle keeps RECT_PAD on every side. In a circle (an ellipse of box_w x box_h) the
    block's padded corners must stay inside the ellipse, so a short block may be wider than
    the inscribed square: width = box_w * sqrt(1 - (padded height / box_h)^2).
    """
    if shape != "circle":
        return box_w - 2 * RECT_PAD, box_h - 2 * RECT_PAD
    share = (block_h + 2 * CIRCLE_PAD) / box_h if box_h > 0 else 2.0
    if share >= 1:
        return 0.0, box_h - 2 * CIRCLE_PAD
    return box_w * math.sqrt(1 - share * share) - 2 * CIRCLE_PAD, box_h - 2 * CIRCLE_PAD


def _fits(lines: tuple[str, ...], scale: float, box_w: int, box_h: int, shape: str) -> bool:
    block_h = text_block(len(lines), scale)[0]
    avail_w, avail_h = room(box_w, box_h, shape, block_h)
    return block_h <= avail_h and all(text_width(line, scale) <= avail_w for line in lines)


def _splits(words: list[str]) -> list[tuple[str, ...]]:
    """One line, then the two-line split whose longer line is shortest."""
    options: list[tuple[str, ...]] = [(" ".join(words),)]
    if len(words) > 1:
        pairs = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
        options.append(min(pairs, key=lambda p: max(text_width(p[0], 1.0), text_width(p[1], 1.0))))
    return options


def _on_grid(scale: float) -> float:
    return round(math.floor(scale / STEP + 1e-9) * STEP, 2)


def _best_scale(lines: tuple[str, ...], box_w: int, box_h: int, shape: str) -> float:
    """The largest grid scale <= MAX_SCALE at which `lines` fit, or 0.0 below MIN_SCALE."""
    widest = max(text_width(line, 1.0) for line in lines)
    most_w, most_h = room(box_w, box_h, shape, 0.0)
    height = text_block(len(lines), 1.0)[0]
    # An upper bound from the widest room; widths round to whole pixels and a circle's room
    # narrows as the text grows, so step down from there until the lines fit.
    scale = _on_grid(min(MAX_SCALE, most_w / max(widest, 1), most_h / height))
    while scale >= MIN_SCALE - 1e-9:
        if _fits(lines, scale, box_w, box_h, shape):
            return scale
        scale = round(scale - STEP, 2)
    return 0.0


def _ellipsised(line: str, avail_w: float) -> str:
    """The longest prefix of `line` plus ELLIPSIS that fits at MIN_SCALE (at least 1 char)."""
    if text_width(line, MIN_SCALE) <= avail_w:
        return line
    for end in range(len(line) - 1, 0, -1):
        short = line[:end].rstrip() + ELLIPSIS
        if text_width(short, MIN_SCALE) <= avail_w:
            return short
    return line[:1] + ELLIPSIS


def lines_at(text: str, box_w: int, box_h: int, shape: str, scale: float) -> tuple[str, ...]:
    """The label as lines that fit at `scale`, one line if it can; () if none fit."""
    for lines in _splits(text.split()) if text.strip() else []:
        if _fits(lines, scale, box_w, box_h, shape):
            return lines
    return ()


@lru_cache(maxsize=4096)
def fit_label(text: str, box_w: int, box_h: int, shape: str) -> LabelFit:
    """Pick the largest readable scale for `text` in a box_w x box_h node of `shape`.

    Two lines are used only when they allow a clearly larger scale than one line. When
    nothing fits at MIN_SCALE the label is ellipsised at MIN_SCALE and `fits` is False.
    """
    words = drawable(text).split()
    if not words:
        return LabelFit(fits=True, scale=MAX_SCALE, lines=())
    options = _splits(words)
    scales = [_best_scale(lines, box_w, box_h, shape) for lines in options]
    if len(options) == 2 and scales[1] > scales[0] + 2 * STEP - 1e-9:
        return LabelFit(fits=True, scale=scales[1], lines=options[1])
    if scales[0]:
        return LabelFit(fits=True, scale=scales[0], lines=options[0])
    two_h = text_block(2, MIN_SCALE)[0]
    lines = options[-1] if two_h <= room(box_w, box_h, shape, two_h)[1] else options[0]
    avail_w = room(box_w, box_h, shape, text_block(len(lines), MIN_SCALE)[0])[0]
    return LabelFit(
        fits=False, scale=MIN_SCALE, lines=tuple(_ellipsised(s, avail_w) for s in lines)
    )


def tab_width(text: str, width: int, height: int) -> int:
    """The width of a tab that shows `text` as a width x height rectangle would (a frame's
    title strip): the text's own width plus padding when that is one line, else `width`."""
    fit = fit_label(text, width, height, "rectangle")
    if not fit.fits or len(fit.lines) != 1:
        return width
    return min(width, text_width(fit.lines[0], fit.scale) + 2 * RECT_PAD + 4)
