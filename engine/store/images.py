"""PNG files under the data directory, named by the SHA-256 of their bytes.

Content addressing makes writes idempotent and crash-safe: a file is written to a temporary
name and renamed into place, so a name either holds the full image or does not exist, and
the same picture drawn twice is stored once. The database row is written after the file, so
a row never points at a missing image (an orphan file after a crash is harmless).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_HASH = re.compile(r"[0-9a-f]{64}")


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not _HASH.fullmatch(digest):
            raise ValueError(f"not an image hash: {digest!r}")
        return self.root / digest[:2] / f"{digest}.png"

    def save(self, png: bytes) -> str:
        """Store the bytes (once) and return their hash."""
        digest = hashlib.sha256(png).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(png)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def load(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()
