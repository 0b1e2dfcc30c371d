"""The content-addressed file store: each file's bytes live once, under a key made of their sha256.

One interface, `Store`, with two backends chosen by a URL (`open_store`): `LocalStore`, a folder
(`file:///path`, the default: the instance's `files/`), and `S3Store`, a bucket of an
S3-compatible object store (`s3://BUCKET/PREFIX`, kb/ingest/s3store.py). Keys are the same on
both: `aa/bb/<sha256>` for a file's bytes (the folder layout the store always had, so an existing
instance needs no migration of its files) and `thumbnails/<sha256>.png` for its preview.

An upload is streamed into a local temporary file (hashing as it goes, stopping at the size
limit), checked there (its type sniffed), and only then put in the store, once, so a
half-received or refused file never appears under a key. Readers that need a path (extraction,
OCR, thumbnails) get a local copy; everything else streams.

No Flask here: the application builds its store from its configuration (kb/services/filestore.py).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
import time
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import unquote, urlsplit

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
BLOB_KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})$")
THUMBNAIL_PREFIX = "thumbnails/"
CHUNK = 1024 * 1024
MAX_NAME_BYTES = 255


class TooLarge(Exception):
    """The stream was longer than the size limit; nothing was kept."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


class StoreError(Exception):
    """Something the store could not do; `message` is short English, safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BlobMissing(StoreError):
    """No object under this key."""

    def __init__(self, key: str):
        super().__init__(f"{key} is missing from the file store")
        self.key = key


class StoreUnavailable(StoreError):
    """The store cannot be reached or refused the request (network, credentials, bucket)."""


@dataclass
class ReceivedFile:
    """A fully received upload waiting in the store's local scratch folder."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class BlobStream:
    """An open stored object (or a range of it): `read(n)`, `close()`, and `length`, the number
    of bytes it gives."""

    def __init__(self, raw, length: int):
        self.raw, self.length = raw, length

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def blob_key(sha256: str) -> str:
    """The key of the bytes with this digest: two levels of fan-out keep folders small."""
    if not SHA256_RE.match(sha256 or ""):
        raise ValueError("not a sha256 hex digest")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    if not SHA256_RE.match(sha256 or ""):
        raise ValueError("not a sha256 hex digest")
    return f"{THUMBNAIL_PREFIX}{sha256}.png"


def sha256_of_blob_key(key: str) -> str | None:
    match = BLOB_KEY_RE.match(key)
    return match.group(1) if match else None


class Store(ABC):
    """Where stored files live. `scratch` is a local folder for temporaries: uploads being
    received, local copies being read, workshop packs being built."""

    url: str
    scratch: Path

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        """Store the local file `path` under `key` and remove `path` (it may be moved into
        place). Keys are content-addressed: when `key` exists already it is left as it is."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Raises StoreUnavailable."""

    @abstractmethod
    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobStream:
        """Stream the object from byte `start`, at most `length` bytes. Raises BlobMissing,
        StoreUnavailable."""

    @abstractmethod
    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local path holding the object's bytes while the block runs (the file itself for a
        folder, a temporary download removed afterwards otherwise). Raises BlobMissing,
        StoreUnavailable."""

    @abstractmethod
    def listing(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Every (key, size) under `prefix`, in pages. Raises StoreUnavailable."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object if it is there."""

    @abstractmethod
    def check(self) -> None:
        """Raises StoreUnavailable unless the store can be read and written."""

    def prepare(self) -> None:
        """Make what the store needs before first use (`kb init`). Raises StoreUnavailable."""
        self.check()

    def temporary(self, prefix: str) -> tuple[int, Path]:
        """A new file in the scratch folder: (open descriptor, path)."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.scratch, prefix=prefix)
        return fd, Path(name)


class LocalStore(Store):
    """A folder: `root/aa/bb/<sha256>`, thumbnails under `root/thumbnails/`, temporaries in
    `root/tmp` (on the same file system, so putting a received file is a rename)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.scratch = self.root / "tmp"
        self.url = self.root.resolve().as_uri()

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a store key: {key!r}")
        return self.root.joinpath(*parts)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        target = self.path(key)
        if target.exists():
            Path(path).unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(path, 0o444)  # stored bytes never change
            os.replace(path, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # From another file system (only thumbnails adopted from an old folder): copy
            # beside the target first, so a half-copied file never appears under the key.
            fd, copy = self.temporary("adopt-")
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out, CHUNK)
            os.chmod(copy, 0o444)
            os.replace(copy, target)
            Path(path).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobStream:
        try:
            handle = open(self.path(key), "rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        except OSError as error:
            raise StoreUnavailable(f"cannot read the file store ({error.strerror})") from None
        size = os.fstat(handle.fileno()).st_size
        start = min(max(start, 0), size)
        handle.seek(start)
        available = size - start
        return BlobStream(_Limited(handle, available if length is None
                                   else min(length, available)),
                          available if length is None else min(length, available))

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise BlobMissing(key)
        yield path

    def listing(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        if not self.root.is_dir():
            return
        for folder, dirs, files in os.walk(self.root):
            relative = Path(folder).relative_to(self.root).as_posix()
            if relative == ".":
                dirs[:] = [d for d in dirs if d != "tmp"]  # temporaries are not stored files
                relative = ""
            for name in files:
                key = f"{relative}/{name}" if relative else name
                if key.startswith(prefix):
                    try:
                        yield key, os.stat(os.path.join(folder, name)).st_size
                    except FileNotFoundError:
                        continue

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.check()

    def check(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable("the file store folder is missing")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable("the file store folder is not writable")

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"


class _Limited:
    """A file read up to a byte count (a range)."""

    def __init__(self, handle, remaining: int):
        self.handle, self.remaining = handle, remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.handle.close()


def open_store(url: str, *, scratch: str | Path, endpoint_url: str | None = None) -> Store:
    """The store a URL names: `file:///absolute/path` or `s3://BUCKET[/PREFIX]` (at
    `endpoint_url`, with boto3's usual credentials; local temporaries in `scratch`).
    Raises ValueError for anything else."""
    parts = urlsplit(url or "")
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError(f"FILE_STORE_URL must be file:///absolute/path, not {url!r}")
        return LocalStore(path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"FILE_STORE_URL must name a bucket: s3://BUCKET/PREFIX, not {url!r}")
        from kb.ingest.s3store import S3Store

        return S3Store(parts.netloc, parts.path.strip("/"), scratch=scratch,
                       endpoint_url=endpoint_url or None)
    raise ValueError(f"FILE_STORE_URL must start with file:// or s3://, not {url!r}")


def receive(store: Store, stream: BinaryIO, max_bytes: int | None) -> ReceivedFile:
    """Stream into a temporary file in the store's scratch folder. Raises TooLarge past
    `max_bytes`."""
    digest, size = hashlib.sha256(), 0
    fd, path = store.temporary("upload-")
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
        path.unlink(missing_ok=True)
        raise
    return ReceivedFile(path, digest.hexdigest(), size)


def keep(store: Store, received: ReceivedFile) -> str:
    """Put a received file in the store under its sha256 key (nothing is sent when those bytes
    are stored already); the temporary is gone afterwards. Returns the key. Raises
    StoreUnavailable (the temporary is then discarded too)."""
    key = blob_key(received.sha256)
    try:
        store.put_file(key, received.path)
    finally:
        received.discard()
    return key


def stray_temporaries(store: Store, older_than: float) -> list[Path]:
    """Temporaries left in the scratch folder for more than `older_than` seconds: a process
    stopped while it received or read them (a live one finishes or removes its own within
    seconds or minutes)."""
    if not store.scratch.is_dir():
        return []
    cutoff = time.time() - older_than
    stray = []
    for path in store.scratch.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                stray.append(path)
        except FileNotFoundError:  # finished or discarded just now
            continue
    return sorted(stray)


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
