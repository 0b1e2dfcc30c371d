"""Bulk import: moving a folder of documents (a shared drive, a USB stick) into the knowledge base.

Each file becomes one resource. Metadata comes, in increasing priority, from the file's own
properties (after extraction), the command's options, and a `manifest.csv` in the file's folder.
Files whose bytes are already stored are skipped, so an import can be run again safely.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from kb.extensions import db
from kb.models import User
from kb.services import indexing, ingestion, processing
from kb.services.errors import Conflict, DomainError

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("filename", "title", "kind", "objectives", "tags", "language", "date", "org",
                    "commune_code")
SKIPPED_NAMES = {MANIFEST, ".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class ImportSummary:
    imported: list[tuple[str, int]] = field(default_factory=list)  # (path, resource id)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, where)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    extraction_failed: list[tuple[str, str]] = field(default_factory=list)


def _split(value: str | None) -> list[str]:
    """Manifest lists are separated by ';' or '|' (commas stay for tags)."""
    if not value:
        return []
    for sep in (";", "|"):
        if sep in value:
            return [v.strip() for v in value.split(sep) if v.strip()]
    return [value.strip()]


def read_manifest(folder: Path) -> dict[str, dict]:
    """filename -> metadata from folder/manifest.csv (UTF-8, with or without BOM)."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("filename") or "").strip()
            if not name:
                continue
            data = {}
            for column in ("title", "kind", "date", "org", "commune_code"):
                if (row.get(column) or "").strip():
                    data[column] = row[column].strip()
            if (row.get("tags") or "").strip():
                data["tags"] = row["tags"]
            if (row.get("objectives") or "").strip():
                data["objectives"] = _split(row["objectives"].replace(",", ";"))
            if (row.get("language") or "").strip():
                data["language"] = _split(row["language"].replace(",", ";"))
            rows[name] = data
    return rows


def collect_files(paths: Iterable[str | Path], exclude: Iterable[str | Path] = ()) -> list[Path]:
    """Every regular file under the given files and folders, in a stable order. Folders in
    `exclude` (the application's own instance folder: its secret key, database and stored
    files must never become resources) are not entered, nor are hidden ones."""
    excluded = {Path(p).resolve() for p in exclude}
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if excluded.intersection(path.resolve().parents) or path.resolve() in excluded:
            continue
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and (Path(root) / d).resolve() not in excluded)
                found.extend(Path(root) / f for f in sorted(files)
                             if f not in SKIPPED_NAMES and not f.startswith("."))
    return found


def import_files(actor: User, files: list[Path], defaults: dict, publish: bool = False,
                 on_progress: Callable[[Path, str], None] | None = None,
                 workers: int | None = None, progress_factory=None) -> ImportSummary:
    """Import each file as a resource, then read their text (several limited child processes
    at a time). `on_progress(path, outcome)` follows the storing; `progress_factory(n)` may
    return a progress bar (with update() and close()) for the reading."""
    with indexing.deferred():  # one index writer at the end, not one per file
        summary = _import(actor, files, defaults, publish, on_progress, workers,
                          progress_factory)
    indexing.flush()
    return summary


def _import(actor, files, defaults, publish, on_progress, workers, progress_factory):
    summary, manifests, new_file_ids = ImportSummary(), {}, {}
    for path in files:
        folder = path.parent
        if folder not in manifests:
            manifests[folder] = read_manifest(folder)
        data = {**defaults, **manifests[folder].get(path.name, {})}
        outcome = "imported"
        try:
            with path.open("rb") as handle:
                resource = ingestion.contribute(actor, data,
                                                [ingestion.Upload(path.name, handle)],
                                                publish=publish, process=False)
            summary.imported.append((str(path), resource.id))
            new_file_ids[resource.current_files[0].id] = str(path)
        except Conflict as error:
            summary.duplicates.append((str(path), str(error.message)))
            outcome = "duplicate"
        except DomainError as error:
            summary.failed.append((str(path), str(error.message)))
            outcome = "failed"
        except OSError as error:
            summary.failed.append((str(path), error.strerror or str(error)))
            outcome = "failed"
        if on_progress:
            on_progress(path, outcome)
    bar = progress_factory(len(new_file_ids)) if progress_factory and new_file_ids else None
    done = processing.process_files(list(new_file_ids), workers=workers,
                                    on_done=(lambda _stored: bar.update(1)) if bar else None)
    if bar:
        bar.close()
    for stored in done:
        if stored.extraction_state.value == "failed":
            summary.extraction_failed.append((new_file_ids[stored.id], stored.extraction_error))
    db.session.remove()
    return summary

