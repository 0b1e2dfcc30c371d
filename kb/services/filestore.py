"""The application's file store (kb/ingest/storage.py), built once from its configuration, and
what the services ask of it: keeping received files, opening stored files and thumbnails for
readers, health, and `kb check`'s comparison of the store with the database.

FILE_STORE_URL chooses the store: `file:///path` (the default: FILE_STORE_PATH, the instance's
`files/`) or `s3://BUCKET/PREFIX` at S3_ENDPOINT_URL. Every node of a deployment must use the
same store: a file uploaded through one node is read by the others from it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from kb.extensions import db
from kb.ingest import storage
from kb.ingest.storage import (SHA256_RE, THUMBNAIL_PREFIX, BlobMissing, BlobStream, Store,
                               StoreError, StoreUnavailable, blob_key, thumbnail_key)
from kb.models import ResourceFile
from kb.services.errors import NotFound, Unavailable

log = logging.getLogger(__name__)
EXTENSION = "kb_store"


def init_app(app) -> None:
    """Build the store the configuration names (a wrong URL stops the application here, with
    the reason, rather than at the first upload)."""
    url = app.config.get("FILE_STORE_URL") or Path(app.config["FILE_STORE_PATH"]).resolve().as_uri()
    app.config["FILE_STORE_URL"] = url
    built = storage.open_store(url, scratch=Path(app.instance_path) / "tmp",
                               endpoint_url=app.config.get("S3_ENDPOINT_URL"))
    # FILE_STORE_PATH names the folder only when there is one.
    app.config["FILE_STORE_PATH"] = str(built.root) if isinstance(built, storage.LocalStore) \
        else None
    app.extensions[EXTENSION] = built


def store() -> Store:
    return current_app.extensions[EXTENSION]


def unavailable(error: StoreError) -> Unavailable:
    log.error("file store %s: %s", store().url, error.message)
    return Unavailable(_l("The file store cannot be reached at the moment. Please try again "
                          "in a few minutes."))


def keep(received: storage.ReceivedFile) -> None:
    """Put a received upload in the store (its temporary is gone afterwards). Raises
    Unavailable."""
    try:
        storage.keep(store(), received)
    except StoreUnavailable as error:
        raise unavailable(error) from None


def open_file(stored: ResourceFile, start: int = 0, length: int | None = None) -> BlobStream:
    """A stored file's bytes (a range of them), streamed. Raises NotFound (its bytes are
    missing from the store: `kb check` reports it) and Unavailable."""
    try:
        return store().open(blob_key(stored.sha256), start, length)
    except BlobMissing:
        log.error("file %s (%s) is missing from the store %s", stored.id, stored.sha256,
                  store().url)
        raise NotFound(_l("This file's contents are missing from the file store. The "
                          "administrators can see it in kb check.")) from None
    except StoreUnavailable as error:
        raise unavailable(error) from None


def open_thumbnail(stored: ResourceFile) -> BlobStream:
    """The file's first-page preview. Raises NotFound (it has none) and Unavailable."""
    if not has_thumbnail(stored):
        raise NotFound(_l("This file has no preview."))
    try:
        return store().open(thumbnail_key(stored.sha256))
    except BlobMissing:
        raise NotFound(_l("This file has no preview.")) from None
    except StoreUnavailable as error:
        raise unavailable(error) from None


def has_thumbnail(stored: ResourceFile) -> bool:
    """Whether the file has a preview, as recorded when it was read; asked of the store only for
    files recorded before that was recorded (`kb init` fills those in)."""
    if stored.has_thumbnail is not None:
        return stored.has_thumbnail
    try:
        return store().exists(thumbnail_key(stored.sha256))
    except StoreError:
        return False  # a page without a preview rather than no page


def health() -> str:
    """"ok", or what is wrong with the store (for /healthz)."""
    try:
        store().check()
    except StoreError as error:
        return error.message
    return "ok"


# --- kb init: the store's folder, and thumbnails from the folder they used to live in -----------

def prepare(old_thumbnails: Path) -> str:
    """Create the store's folder (file://) or check the bucket answers (s3://), and move in the
    thumbnails of the folder they used to live in; "ok" (with how many moved) or what is wrong
    (kb init reports it and goes on: the database can be set up without the store)."""
    try:
        store().prepare()
        moved = adopt_old_thumbnails(old_thumbnails)
    except StoreError as error:
        return error.message
    return f"ok, {moved} thumbnails moved into it" if moved else "ok"


def adopt_old_thumbnails(folder: Path) -> int:
    """Thumbnails used to be PNGs in instance/thumbnails/ beside the store; they now live in the
    store under `thumbnails/<sha256>.png`, so every node finds them. Move the old ones in
    (removing the old folder once empty), then record which files have one where that was
    not recorded yet. Safe to run again; returns how many were moved. Raises StoreError."""
    moved = 0
    if folder.is_dir():
        for path in sorted(folder.glob("*.png")):
            if SHA256_RE.match(path.stem):
                store().put_file(thumbnail_key(path.stem), path, "image/png")
                moved += 1
        try:
            folder.rmdir()
        except OSError:  # something else is in it: left alone
            pass
    unknown = list(db.session.execute(select(ResourceFile.id, ResourceFile.sha256)
                                      .where(ResourceFile.has_thumbnail.is_(None))))
    if unknown:
        present = {key[len(THUMBNAIL_PREFIX):-len(".png")]
                   for key, _size in store().listing(THUMBNAIL_PREFIX)}
        for flag in (True, False):
            ids = [file_id for file_id, sha256 in unknown if (sha256 in present) is flag]
            for start in range(0, len(ids), 500):
                db.session.execute(update(ResourceFile)
                                   .where(ResourceFile.id.in_(ids[start:start + 500]))
                                   .values(has_thumbnail=flag)
                                   .execution_options(synchronize_session=False))
        db.session.commit()
    return moved


# --- kb check ---------------------------------------------------------------------------------

@dataclass
class FilesReport:
    store: str = "ok"                                   # or why the store could not be listed
    missing: list[int] = field(default_factory=list)    # file ids whose bytes are not stored
    wrong_size: list[int] = field(default_factory=list)  # stored, but not of the recorded size
    unreferenced: int = 0  # stored bytes no file refers to (harmless: see check_files)

    @property
    def ok(self) -> bool:
        return self.store == "ok" and not self.missing and not self.wrong_size

    def lines(self) -> list[str]:
        out = [f"File store: {store().url}" + ("" if self.store == "ok" else f": {self.store}")]
        for label, ids in (("Stored file missing (file ids)", self.missing),
                           ("Stored file of the wrong size (file ids)", self.wrong_size)):
            if ids:
                shown = ", ".join(str(i) for i in ids[:20]) + (" …" if len(ids) > 20 else "")
                out.append(f"{label}: {len(ids)} ({shown})")
        if self.unreferenced:
            out.append(f"Stored files no resource refers to: {self.unreferenced} (harmless; "
                       "left by deleted resources or an upload stopped before it was recorded)")
        return out


def check_files() -> FilesReport:
    """Compare the files the database records with one listing of the store (paged on S3), by
    key and size. The database is read first: a file stored and recorded while this runs is
    then at worst counted as unreferenced, never reported missing."""
    report = FilesReport()
    recorded = list(db.session.execute(
        select(ResourceFile.id, ResourceFile.sha256, ResourceFile.size)))
    db.session.commit()  # no transaction stays open while the store is listed
    stored: dict[str, int] = {}
    try:
        for key, size in store().listing():
            sha256 = storage.sha256_of_blob_key(key)
            if sha256 is not None:
                stored[sha256] = size
    except StoreError as error:
        report.store = error.message
        return report
    referenced = set()
    for file_id, sha256, size in recorded:
        referenced.add(sha256)
        if sha256 not in stored:
            report.missing.append(file_id)
        elif stored[sha256] != size:
            report.wrong_size.append(file_id)
    report.unreferenced = len(set(stored) - referenced)
    return report
