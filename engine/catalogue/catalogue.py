"""The catalogue: named ML architectures and processes, each a hand-checked sketch.

Each entry is one file `entries/NAME.sketch`: header lines, then a sketch (docs/sketch.md):

    name: LeNet-5
    aliases: lenet, lenet5, lenet-5, le net
    source: LeCun et al. 1998, "Gradient-based learning ...", Proc. IEEE, Fig. 2
    kind: stack
    blocks: input 32x32x1 | conv 5x5 6 @28x28 | ...

The facts (layer sizes, kernels, filters, order) come from the paper and figure named in
`source`; the drawing is ours.

Matching (`find`): the request and every alias are normalised the same way: lowercase,
every character that is not a letter or a digit becomes a space, a space goes between a
letter and a digit ("resnet18", "ResNet-18" and "resnet 18" all read "resnet 18"), runs of
spaces collapse. An alias matches where it occurs between word boundaries of the request;
of all matching aliases the longest wins ("faster r cnn" over "r cnn", "resnet 18" over
"resnet"), ties going to the one that starts first, except that a name written as a part
of another ("a ResNet-34 encoder", "with a U-Net generator") loses to the other. No alias
of one entry is an alias of another (tests check), and generic words are aliases only where
chosen on purpose ("transformer" is the encoder block, "resnet" is ResNet-50).

Adapting (`adapt`): the entry's sketch with what the request adds, everything else as the
catalogue has it:

- a class or output count ("for 3 classes", "10-class", "with 5 outputs", "binary" -> 2)
  replaces the units of the last `output` / `softmax` / `dense` block of a stack;
- an input size ("for 64x64 RGB images", "224 x 224 input"; RGB -> 3 channels, grayscale
  -> 1, else the entry's channels) replaces the map of the stack's input block;
- U-Net is drawn by a small generator (`unet_sketch`, one block per level: 9 blocks at the
  paper's 5 levels, the most whose labels fit in one row), so "with N levels" (2..5)
  rebuilds its encoder / decoder depth; it has no input or output block to adapt.

Flows are returned unchanged. Pure: the only I/O is reading this package's own files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from engine.diagram.blocks import read_block

ENTRIES_DIR = Path(__file__).with_name("entries")
HEADER_KEYS = ("name", "aliases", "source", "kind")


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: its name, the phrases that name it, where its facts come from,
    "stack" (a layer stack) or "flow" (a process), and its sketch text."""

    name: str
    aliases: tuple[str, ...]
    source: str
    kind: str
    sketch_text: str


def read_entry(text: str) -> Entry:
    """An entry file's text as an Entry (header lines first, then the sketch)."""
    header: dict[str, str] = {}
    lines = text.strip().splitlines()
    body_at = 0
    for body_at, line in enumerate(lines):  # noqa: B007 (used after the loop)
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in HEADER_KEYS:
            break
        header[key.strip().lower()] = value.strip()
    else:
        body_at = len(lines)
    missing = [k for k in HEADER_KEYS if not header.get(k)]
    if missing:
        raise ValueError(f"catalogue entry without {', '.join(missing)}")
    aliases = tuple(a.strip().lower() for a in header["aliases"].split(",") if a.strip())
    return Entry(
        name=header["name"],
        aliases=aliases,
        source=header["source"],
        kind=header["kind"],
        sketch_text="\n".join(lines[body_at:]).strip(),
    )


@lru_cache(maxsize=1)
def entries() -> tuple[Entry, ...]:
    """Every entry, in file-name order."""
    return tuple(
        read_entry(p.read_text(encoding="utf-8")) for p in sorted(ENTRIES_DIR.glob("*.sketch"))
    )


# ---- matching ------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lowercase words and numbers separated by single spaces ("ResNet-18" -> "resnet 18")."""
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    text = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", text)
    return " ".join(text.split())


@lru_cache(maxsize=1)
def _alias_table() -> tuple[tuple[str, Entry], ...]:
    return tuple((normalise(a), e) for e in entries() for a in e.aliases if normalise(a))


@lru_cache(maxsize=1)
def _alias_dict() -> dict[str, Entry]:
    return dict(_alias_table())


@lru_cache(maxsize=1024)  # one per alias
def _numbered(alias: str) -> bool:
    """Whether the catalogue numbers this alias ("resnet": it holds "resnet 18")."""
    return any(a.startswith(f"{alias} ") and a.split()[-1].isdigit() for a in _alias_dict())


@lru_cache(maxsize=1)
def alias_words() -> frozenset[str]:
    """Every word of every alias, normalised: the names the catalogue knows."""
    return frozenset(w for alias, _ in _alias_table() for w in alias.split())


@lru_cache(maxsize=1)
def label_words() -> frozenset[str]:
    """Every word of the entries' step and block names: the field's vocabulary."""
    words = (re.findall(r"[a-z][a-z0-9-]{2,}", e.sketch_text.lower()) for e in entries())
    return frozenset(w for ws in words for w in ws)


# Words that make no other architecture of an entry joined to its name ("beta-VAE").
_SAME = frozenset(
    "beta vanilla simple basic small base large tiny mini deep standard classic plain".split()  # noqa: SIM905
)
# Words before a name that make another architecture of it ("Siamese LSTM" is two LSTM
# encoders, not the cell). Words that only add an input or a gate to the same structure
# ("conditional DCGAN", "attention U-Net") keep the entry: an honest partial drawing. (The
# conditional GAN and VAE are entries of their own.)
_CHANGES = frozenset(
    {"siamese", "nested", "hierarchical", "recurrent", "graph", "bayesian", "quantised",
     "quantized", "progressive", "cycle", "style"}
)
_TOKEN_EDGES = ".,;:!?()[]{}\"'`*"
# Words after a name that make it a part of the architecture asked for ("a ResNet-34 encoder").
_PARTS = frozenset(
    {"encoder", "decoder", "backbone", "generator", "discriminator", "feature", "features",
     "extractor", "stem", "head", "branch", "critic"}
)


def _variant(request: str, text: str, alias: str, at: int) -> str | None:
    """The name this match of `alias` is part of when that names another architecture than
    the entry, or None: the alias joined to more in one word ("VQ-GAN", "U-Net++",
    "ResNeXt" is no match at all) or followed by a number where the catalogue numbers its
    own and not this one ("ResNet-101": resnet 18 and resnet 50 are entries)."""
    known = _alias_dict()
    numbered = _numbered(alias)
    for token in request.split():
        raw = token.strip(_TOKEN_EDGES)
        words = normalise(raw)
        if f" {alias} " not in f" {words} " or words in known and "+" not in raw:
            continue
        extra = set(words.split()) - set(alias.split())
        if "+" in raw or any(not w.isdigit() and w not in _SAME for w in extra):
            return raw
        if numbered and any(w.isdigit() for w in extra):
            return raw
    after = text[at + len(alias) + 2 :].split(" ", 1)[0]
    if after.isdigit() and numbered and f"{alias} {after}" not in known:
        return _as_written(request, f"{alias} {after}")
    before = text[:at].split()[-1:]
    if before and before[0] in _CHANGES and f"{before[0]} {alias}" not in known:
        return _as_written(request, f"{before[0]} {alias}")
    return None


def _as_written(request: str, phrase: str) -> str:
    """`phrase` (normalised words) as the request writes it: "siamese lstm" -> "Siamese LSTM"."""
    pattern = r"[^a-z0-9]*".join(re.escape(w) for w in phrase.split())
    m = re.search(pattern, request, re.IGNORECASE)
    return m[0] if m else phrase


def _matches(request: str) -> list[tuple[str, int, Entry, str | None]]:
    """Every alias the request holds: (alias, where, entry, the variant it names or None)."""
    text = f" {normalise(request)} "
    found = []
    for alias, entry in _alias_table():
        at = text.find(f" {alias} ")
        if at >= 0:
            found.append((alias, at, entry, _variant(request, text, alias, at)))
    return found


def _part(text: str, alias: str, at: int) -> bool:
    """Whether this match names a part of another architecture, not the one to draw:
    "a ResNet-34 encoder", "with a U-Net generator", "using a VGG-16 backbone"."""
    after = text[at + len(alias) + 2 :].split()[:1]
    before = text[:at].split()[-2:]
    return bool(set(after) & _PARTS) or bool(set(before) & {"with", "using"})


def find(request: str) -> Entry | None:
    """The entry the request names, or None (see the module docstring). A variant of an
    entry that the catalogue does not hold ("ResNet-101", "VQ-GAN") names none. When two
    entries are named, one named as a part of the other loses ("U-Net with a ResNet-34
    encoder" is the U-Net), whatever the aliases' lengths."""
    text = f" {normalise(request)} "
    found = [(alias, at, entry) for alias, at, entry, variant in _matches(request) if not variant]
    best: tuple[bool, int, int, Entry] | None = None
    for alias, at, entry in found:
        if any(a != alias and b <= at and at + len(alias) <= b + len(a) for a, b, _ in found):
            continue  # "resnet" inside "resnet 34": the longer name is what was written
        key = (not _part(text, alias, at), len(alias), -at)
        if best is None or key > best[:3]:
            best = (*key, entry)
    return best[3] if best else None


def unknown_variant(request: str) -> str | None:
    """The name of an entry's variant the request asks for and the catalogue does not hold
    ("ResNet-101", "U-Net++"), when no entry matches; None otherwise."""
    variants = [v for _, _, _, v in _matches(request)]
    if None in variants:  # some alias names an entry: find() answers
        return None
    return next(iter(variants), None)


# ---- adapting ------------------------------------------------------------------------------

_CLASSES = re.compile(
    r"\b(\d{1,6})[\s-]*(?:output\s+)?(?:classes|class|categories|category|labels|outputs|"
    r"output units|actions)\b",
    re.IGNORECASE,
)
_BINARY = re.compile(r"\bbinary\b", re.IGNORECASE)
_SIZE = re.compile(r"\b(\d{1,5})\s*[x×*]\s*(\d{1,5})(?:\s*[x×*]\s*(\d{1,4}))?\b", re.IGNORECASE)
_RGB = re.compile(r"\b(?:rgb|colou?r)\b", re.IGNORECASE)
_GREY = re.compile(r"\b(?:gr[ae]y\s*scale|gr[ae]y|monochrome|single[- ]channel)\b", re.IGNORECASE)
_LEVELS = re.compile(r"\b(\d)[\s-]*levels?\b", re.IGNORECASE)
_BLOCKS_LINE = re.compile(r"^(\s*blocks\s*:\s*)(.*)$", re.IGNORECASE | re.MULTILINE)
_DIMS = re.compile(r"@?\s*\d+\s*[x×*]\s*\d+(?:\s*[x×*]\s*\d+)?")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")
COUNTED = {"output", "softmax", "dense"}


def requested_classes(request: str) -> int | None:
    """The class / output count a request asks for, or None."""
    m = _CLASSES.search(request)
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    return 2 if _BINARY.search(request) else None


def requested_size(request: str) -> tuple[int, int, int | None] | None:
    """The input map a request asks for (height, width, channels or None), or None.
    Sizes under 8 are kernels ("3x3 conv"), not inputs."""
    for m in _SIZE.finditer(request):
        h, w = int(m.group(1)), int(m.group(2))
        if h >= 8 and w >= 8:
            c = int(m.group(3)) if m.group(3) else None
            if c is None and _RGB.search(request):
                c = 3
            elif c is None and _GREY.search(request):
                c = 1
            return h, w, c
    return None


def requested_levels(request: str) -> int | None:
    m = _LEVELS.search(request)
    return int(m.group(1)) if m and 2 <= int(m.group(1)) <= UNET_MAX_LEVELS else None


def _set_units(name: str, units: int) -> str:
    """The block name with its units (the first plain number outside a map/kernel) set."""
    dims = [m.span() for m in _DIMS.finditer(name)]
    for m in _NUMBER.finditer(name):
        if not any(a <= m.start() < b for a, b in dims):
            return name[: m.start()] + str(units) + name[m.end() :]
    return name


def _set_map(name: str, size: tuple[int, int, int | None]) -> str:
    h, w, c = size
    old = read_block(name).map
    channels = c if c is not None else old[2] if old else None
    text = f"{h}x{w}" + (f"x{channels}" if channels else "")
    m = re.search(r"\d+\s*[x×*]\s*\d+(?:\s*[x×*]\s*\d+)?", name)
    return name[: m.start()] + text + name[m.end() :] if m else f"{name} {text}"


def _adapt_blocks(
    names: list[str], classes: int | None, size: tuple[int, int, int | None] | None
) -> list[str]:
    names = list(names)
    if classes is not None:
        for i in range(len(names) - 1, -1, -1):
            block = read_block(names[i].strip("[]"))
            if block.kind in COUNTED and block.units is not None:
                names[i] = _set_units(names[i], classes)
                break
    if size is not None:
        for i, name in enumerate(names):
            if read_block(name.strip("[]")).kind == "input":
                names[i] = _set_map(name, size)
                break
    return names


def adapt(entry: Entry, request: str) -> str:
    """The entry's sketch text adapted to what the request adds (module docstring)."""
    classes, size = requested_classes(request), requested_size(request)
    if entry.name == "U-Net":
        levels = requested_levels(request)
        return unet_sketch(levels) if levels is not None else entry.sketch_text
    if entry.kind != "stack" or (classes is None and size is None):
        return entry.sketch_text
    m = _BLOCKS_LINE.search(entry.sketch_text)
    if not m:
        return entry.sketch_text
    names = _adapt_blocks(m.group(2).split(" | "), classes, size)
    line = m.group(1) + " | ".join(names)
    return entry.sketch_text[: m.start()] + line + entry.sketch_text[m.end() :]


# ---- U-Net ---------------------------------------------------------------------------------

UNET_LEVELS = 5  # Ronneberger et al. 2015, Fig. 1: 64 .. 1024 filters, four max pools
# 6 levels make 11 blocks in a row: their labels no longer fit the canvas
UNET_MAX_LEVELS = 5


def unet_sketch(levels: int = UNET_LEVELS) -> str:
    """U-Net with `levels` resolution levels (2..UNET_MAX_LEVELS): one block per encoder
    level (two 3x3 convs, 64 filters doubling per level, a 2x2 max pool between levels),
    the bottleneck, one block per decoder level (a 2x2 up-conv halving the filters, the
    concatenation with the encoder level's maps, two 3x3 convs); each concatenation is a
    skip edge. levels=5 is the paper's (64 .. 1024 filters)."""
    if not 2 <= levels <= UNET_MAX_LEVELS:
        raise ValueError(f"U-Net levels must be 2..{UNET_MAX_LEVELS}")
    filters = [64 * 2**i for i in range(levels)]
    names = [f"conv {f}" for f in filters] + [f"up-conv {f}" for f in reversed(filters[:-1])]
    n = len(names)
    edges = [f"{i}>{i + 1}" for i in range(1, n)]
    edges += [f"{i}>{n + 1 - i}" for i in range(levels - 1, 0, -1)]  # shortest skip first
    return "\n".join(
        [
            f"blocks: {' | '.join(names)}",
            f"edges: {' '.join(edges)}",
            "direction: right",
            "line: solid arrow 40 40 40",
        ]
    )
