"""The CPU decoder, kept on disk between runs, so `diagrammer draw` builds it only once.

A cold `draw` imports transformers' model classes and peft (~3-5 s), loads the checkpoint,
merges the LoRA adapter, runs the int8 calibration pass and quantizes every layer (~2 s).
All that yields is `fast.Decoder`'s tensors: int8 weights with their scales, norms, the
embedding and a rotary table. This module saves them, with the stop tables and the prepared
tokenizer, in one file under <cache>/decoders/ (<cache> = $DIAGRAMMER_CACHE, else
$XDG_CACHE_HOME/diagrammer, else ~/.cache/diagrammer), and a later run reads that file back
instead: only the int8 layers are packed again (packing depends on the CPU).

The file's name holds a digest of everything the decoder depends on: the model folder's files
(size and mtime: a reconverted GGUF changes them), the adapter's files (content), the torch,
transformers and peft versions, the decoder's settings and the source of the modules that
build it (so an edit of the quantization cannot meet a file made by the old code). A change
of any of these misses and builds a new file; an unreadable file is rebuilt with a one-line
warning.
DIAGRAMMER_DECODER_CACHE=0 turns the cache off. The file holds a pickled tokenizer: the cache
folder is trusted as the user's own, as the model cache beside it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import torch

from engine.device import pick_device
from engine.llm import fast, prompt
from engine.llm import load as loading
from engine.llm.load import (
    LoadedModel,
    adapter_dir,
    cache_base,
    cpu_threads,
    load,
    model_name,
    resolve,
)

log = logging.getLogger(__name__)
FORMAT = 1  # the file's layout; bump when parts() or the payload change
OFF = ("0", "off", "no", "false")
# The code that makes what the file holds: the decoder, the tokenizer's preparation, the
# calibration prompt, and this module.
SOURCES = [Path(m.__file__) for m in (fast, loading, prompt, sys.modules[__name__])]


def enabled() -> bool:
    return os.environ.get("DIAGRAMMER_DECODER_CACHE", "1").strip().lower() not in OFF


def folder() -> Path:
    return cache_base() / "decoders"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _files(where: Path, content: bool) -> list[list]:
    """Each file of a folder: name and size, with its digest (content) or its mtime."""
    rows = []
    for path in sorted(p for p in where.iterdir() if p.is_file()):
        stat = path.stat()
        mark = hashlib.sha256(path.read_bytes()).hexdigest() if content else stat.st_mtime_ns
        rows.append([path.name, stat.st_size, mark])
    return rows


def key(where: Path, adapter: Path | None, int8: bool) -> str:
    """A digest of what the decoder is made from and how (see the module's docstring)."""
    facts = {
        "format": FORMAT,
        "model": [str(where.resolve()), _files(where, content=False)],
        "adapter": None if adapter is None else _files(adapter, content=True),
        "versions": [torch.__version__, _version("transformers"), _version("peft")],
        "python": list(sys.version_info[:2]),
        "int8": int8,
        "settings": [fast.ONEDNN_FROM, fast.CALIBRATION, torch.backends.quantized.engine],
        "code": [hashlib.sha256(path.read_bytes()).hexdigest() for path in SOURCES],
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]


def load_model(
    source: str,
    *,
    adapter: str | None = None,
    device: str = "auto",
    adapter_path: Path | None = None,
) -> LoadedModel:
    """engine.llm.load.load for generating on the fast path, from the cache when it can.

    On a hit the LoadedModel's `model` is a `fast.Prebuilt` (the decoder alone); on a miss it
    is the real model, and its decoder is built now and saved. The GPU, a model that is not a
    local folder, or the cache turned off: `load` as it is.
    """
    dev = pick_device(device)
    where = Path(resolve(source))
    adapter_path = None if adapter is None else Path(adapter_path or adapter_dir(adapter))
    int8 = fast.CPU_INT8 and fast.int8_available()
    if dev.type != "cpu" or not enabled() or not where.is_dir():
        return _loaded(source, adapter, device, adapter_path)
    torch.set_num_threads(cpu_threads())  # as load() does: see cpu_threads
    digest = key(where, adapter_path if adapter_path and adapter_path.is_dir() else None, int8)
    path = folder() / f"{model_name(source)}-{adapter or 'none'}-{digest}.pt"
    if path.is_file():
        try:
            return read(path, digest)
        except Exception as e:  # noqa: BLE001 - any damage means: build it again
            log.warning("decoder cache %s is unreadable (%s); building it again", path, e)
            path.unlink(missing_ok=True)
    lm = _loaded(source, adapter, device, adapter_path)
    try:
        write(lm, path, digest)
    except fast.Unsupported as e:  # the plain path will serve this model: nothing to keep
        log.info("no decoder cache for %s: %s", lm.name, e)
    except OSError as e:  # a full disk or a read-only home: draw anyway, uncached
        log.warning("could not write the decoder cache %s (%s)", path, e)
    return lm


def _loaded(source: str, adapter: str | None, device: str, path: Path | None) -> LoadedModel:
    lm = load(source, device=device)
    if adapter is not None:
        lm.use_adapter(adapter, path)
    return lm


def write(lm: LoadedModel, path: Path, digest: str) -> None:
    """Build lm's decoder (as generating would) and save it to `path`, atomically, in place
    of the files of older keys for the same model and adapter."""
    dec, ends = fast.decoder(lm), fast.stops(lm)
    payload = {
        "format": FORMAT,
        "key": digest,
        "name": lm.name,
        "adapter": lm.adapter,
        "adapter_path": None if lm.adapter is None else str(lm.adapters[lm.adapter]),
        "decoder": dec.parts(),
        "stops": vars(ends),
        "tokenizer": lm.tokenizer,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, temp)
        os.replace(temp, path)
    finally:
        Path(temp).unlink(missing_ok=True)
    stem = path.stem.removesuffix(digest)
    for old in path.parent.glob(f"{stem}{'?' * len(digest)}.pt"):
        if old != path:
            old.unlink(missing_ok=True)


def read(path: Path, digest: str) -> LoadedModel:
    """The LoadedModel a cache file holds (memory-mapped: only what decoding reads is read)."""
    payload = torch.load(path, mmap=True, weights_only=False)
    if payload.get("format") != FORMAT or payload.get("key") != digest:
        raise ValueError("written for another key")
    adapter = payload["adapter"]
    dec = fast.Decoder.restore(payload["decoder"])
    model = fast.Prebuilt(dec, fast.Stops(**payload["stops"]), adapter)
    adapters = {} if adapter is None else {adapter: Path(payload["adapter_path"])}
    return LoadedModel(model, payload["tokenizer"], payload["name"], adapters, adapter)
