"""The content-addressed file store: each file's bytes live once, named by their sha256."""
from __future__ import annotations

import re
from pathlib import Path

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def blob_path(store_root: str | Path, sha256: str) -> Path:
    """Where the bytes with this digest live: two levels of fan-out keep folders small."""
    if not SHA256_RE.match(sha256 or ""):
        raise ValueError("not a sha256 hex digest")
    return Path(store_root) / sha256[:2] / sha256[2:4] / sha256
