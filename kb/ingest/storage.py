"""The content-addressed file store: each file's bytes live once, named by their sha256.

An upload is streamed into a temporary file in the store (hashing as it goes, stopping at the size
limit), checked, and only then moved to its final name, so a half-received or refused file never
appears under a sha256 name.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
MAX_NAME_BYTES = 255


class TooLarge(Exception):
    """The stream was longer than the size limit; nothing was kept."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


@dataclass
class ReceivedFile:
    """A fully received upload waiting in the store's temporary folder."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def blob_path(store_root: str | Path, sha256: str) -> Path:
    """Where the bytes with this digest live: two levels of fan-out keep folders small."""
    if not SHA256_RE.match(sha256 or ""):
        raise ValueError("not a sha256 hex digest")
    return Path(store_root) / sha256[:2] / sha256[2:4] / sha256


def receive(store_root: str | Path, stream: BinaryIO, max_bytes: int | None) -> ReceivedFile:
    """Stream into a temporary file beside the blobs. Raises TooLarge past `max_bytes`."""
    tmp_dir = Path(store_root) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return ReceivedFile(Path(name), digest.hexdigest(), size)


def keep(store_root: str | Path, received: ReceivedFile) -> Path:
    """Move a received file to its sha256 name (or drop it if those bytes are already stored)."""
    target = blob_path(store_root, received.sha256)
    if target.exists():
        received.discard()
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(received.path, 0o444)  # stored bytes never change
    os.replace(received.path, target)
    return target


def stray_temporaries(store_root: str | Path, older_than: float) -> list[Path]:
    """Upload temporaries left for more than `older_than` seconds: a process stopped while it
    received them (a live upload finishes or discards its own within seconds or minutes)."""
    import time

    tmp_dir = Path(store_root) / "tmp"
    if not tmp_dir.is_dir():
        return []
    cutoff = time.time() - older_than
    stray = []
    for path in tmp_dir.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                stray.append(path)
        except FileNotFoundError:  # finished or discarded just now
            continue
    return sorted(stray)


def exists(store_root: str | Path, sha256: str) -> bool:
    return blob_path(store_root, sha256).exists()


def safe_filename(name: str | None, default: str = "file") -> str:
    """A display name from whatever the client sent: no folders, no control characters, NFC,
    at most 255 UTF-8 bytes with the extension kept. Used only as metadata, never as a path."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".").strip() or default
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext.encode("utf-8")) <= 16 else ""
        stem = stem if ext else name
        budget = MAX_NAME_BYTES - (len(ext.encode("utf-8")) + 1 if ext else 0)
        stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        name = f"{stem}.{ext}" if ext else stem
    return name
