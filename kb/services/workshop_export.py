"""A workshop as one ZIP that works from a USB stick with no network: `index.html` (the agenda
in the workshop's language, the trainer's notes, links to the files beside it), the files under
`files/` with readable names, and `manifest.json` for other tools.

Only the resources the exporting user may see go in, each with its current file versions. The
ZIP is built in an anonymous temporary file in the file store's local scratch folder (files can
be large, and nothing is left behind if the process dies), each file streamed into it from the
store.
"""
from __future__ import annotations

import base64
import json
import mimetypes
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from flask import current_app, render_template
from flask_babel import force_locale

from kb.ingest.storage import CHUNK, StoreError, blob_key
from kb.models import Resource, ResourceFile, User, Workshop, WorkshopItem, utcnow
from kb.services import filestore
from kb.services.workshops import rendered, visible_items

# Characters no file name may hold on Windows or on a FAT-formatted USB stick, and what readers
# will recognise in their place. Path separators are among them, so a name is never a path.
NAME_REPLACEMENTS = str.maketrans({"/": "-", "\\": "-", "|": "-", ":": " -", '"': "'",
                                   "<": "(", ">": ")", "*": "", "?": ""})
# Zero-width joiners shape Khmer; every other control or format character (bidi overrides
# included) is dropped.
KEPT_FORMAT_CHARACTERS = {"\u200c", "\u200d"}
KHMER_COENG = "\u17d2"  # joins the next consonant; meaningless at the end of a cut name
TITLE_BYTES, PART_BYTES = 120, 60  # well under the 255 bytes file systems allow
ALREADY_COMPRESSED = ("image/jpeg", "image/png", "image/webp", "application/zip",
                      "application/vnd.openxmlformats-officedocument",
                      "application/vnd.oasis.opendocument")
KHMER_FONT = "fonts/noto-sans-khmer-khmer-400-normal.woff2"


@dataclass
class PackFile:
    stored: ResourceFile
    path: str  # inside the ZIP: "files/01 - Commune budget guide.pdf"

    @property
    def href(self) -> str:
        """The link from index.html, which sits beside the `files/` folder."""
        return quote(self.path)


@dataclass
class PackItem:
    number: int
    item: WorkshopItem
    files: list[PackFile] = field(default_factory=list)

    @property
    def resource(self) -> Resource:
        return self.item.resource

    @property
    def note_html(self) -> str:
        return rendered(self.item.note)


# --- names --------------------------------------------------------------------------------------

def clean_name_part(text: str, max_bytes: int) -> str:
    """Readable text safe in a file name: no separators or control characters, NFC (Khmer
    kept), single spaces, no leading or trailing dots, at most `max_bytes` of UTF-8."""
    text = unicodedata.normalize("NFC", str(text or "")).translate(NAME_REPLACEMENTS)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            kept.append(" ")  # tabs and line breaks separate words
        elif not category.startswith("C") or char in KEPT_FORMAT_CHARACTERS:
            kept.append(char)
    text = " ".join("".join(kept).split())
    text = text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
    return text.rstrip(KHMER_COENG + "\u200c\u200d").strip(" .")


def file_extension(stored: ResourceFile) -> str:
    suffix = PurePosixPath(stored.original_name or "").suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        return suffix
    return mimetypes.guess_extension(stored.content_type or "") or ""


def pack_filename(number: int, title: str, stored: ResourceFile, several: bool) -> str:
    """"01 - Commune budget guide.pdf"; with several files, the file's own name follows."""
    name = f"{number:02d} - {clean_name_part(title, TITLE_BYTES) or number}"
    if several:
        stem = clean_name_part(PurePosixPath(stored.original_name or "").stem, PART_BYTES)
        if stem:
            name += f" - {stem}"
    return name + file_extension(stored)


def _unique(name: str, taken: set[str]) -> str:
    """Unique even on file systems that ignore case (Windows, FAT)."""
    suffix = PurePosixPath(name).suffix
    stem = name[:len(name) - len(suffix)]
    candidate, count = name, 1
    while candidate.casefold() in taken:
        count += 1
        candidate = f"{stem} ({count}){suffix}"
    taken.add(candidate.casefold())
    return candidate


def download_name(workshop: Workshop) -> str:
    title = clean_name_part(workshop.title, TITLE_BYTES) or "workshop"
    return f"{workshop.date.isoformat()} {title}.zip" if workshop.date else f"{title}.zip"


# --- what goes in -------------------------------------------------------------------------------

def plan_pack(user: User | None, workshop: Workshop) -> list[PackItem]:
    """The items `user` may see, numbered, each with its current files and their names.

    `workshop` comes from get_workshop or get_shared_workshop, which decide who may see it.
    A file whose bytes are missing from the store is left out (and logged; `kb check` reports
    it) rather than breaking the whole pack.
    """
    store = filestore.store()
    taken: set[str] = set()
    pack = []
    for number, item in enumerate(visible_items(user, workshop), start=1):
        entry = PackItem(number, item)
        files = item.resource.current_files
        for stored in files:
            try:
                present = store.exists(blob_key(stored.sha256))
            except StoreError as error:
                raise filestore.unavailable(error) from None
            if not present:
                current_app.logger.warning("workshop %s: file %s (%s) is missing from the store",
                                           workshop.id, stored.id, stored.sha256)
                continue
            name = _unique(pack_filename(number, item.resource.title, stored, len(files) > 1),
                           taken)
            entry.files.append(PackFile(stored, f"files/{name}"))
        pack.append(entry)
    return pack


def group_sessions(pack: list[PackItem]) -> list[tuple[str, list[PackItem]]]:
    """Consecutive items with the same session heading, as (heading, items) in agenda order."""
    sessions: list[tuple[str, list[PackItem]]] = []
    for entry in pack:
        if not sessions or sessions[-1][0] != entry.item.session:
            sessions.append((entry.item.session, []))
        sessions[-1][1].append(entry)
    return sessions


# --- the files of the ZIP -------------------------------------------------------------------------

def _khmer_font_data_uri() -> str:
    """The site's Khmer font inlined, so Khmer reads right on a computer without one."""
    font = Path(current_app.static_folder) / KHMER_FONT
    return "data:font/woff2;base64," + base64.b64encode(font.read_bytes()).decode("ascii")


def render_index(workshop: Workshop, pack: list[PackItem]) -> str:
    """index.html in the workshop's language, whatever the exporting reader's language is."""
    with force_locale(workshop.language):
        return render_template("workshops/export_index.html", workshop=workshop, pack=pack,
                               sessions=group_sessions(pack), lang=workshop.language,
                               description_html=rendered(workshop.description),
                               khmer_font=_khmer_font_data_uri())


def manifest(workshop: Workshop, pack: list[PackItem],
             resource_url: Callable[[Resource], str]) -> dict:
    commune = workshop.commune
    return {
        "format": "ddwg-workshop-pack",
        "version": 1,
        "exported_at": utcnow().isoformat(timespec="seconds") + "Z",
        "workshop": {
            "id": workshop.id, "title": workshop.title,
            "date": workshop.date.isoformat() if workshop.date else None,
            "location": workshop.location,
            "commune": {"code": commune.code, "name_en": commune.name_en,
                        "name_km": commune.name_km} if commune else None,
            "audience": workshop.audience, "description": workshop.description,
            "language": workshop.language, "visibility": workshop.visibility.value,
        },
        "items": [{
            "position": entry.number, "resource_id": entry.resource.id,
            "title": entry.resource.title, "alt_title": entry.resource.alt_title or None,
            "kind": entry.resource.kind.code, "session": entry.item.session,
            "start_time": entry.item.start_time or None,
            "duration_minutes": entry.item.duration_minutes, "note": entry.item.note,
            "url": resource_url(entry.resource),
            "files": [{"path": f.path, "filename": f.stored.original_name,
                       "size": f.stored.size, "sha256": f.stored.sha256,
                       "content_type": f.stored.content_type, "version": f.stored.version}
                      for f in entry.files],
        } for entry in pack],
    }


def _compression(content_type: str) -> int:
    return zipfile.ZIP_STORED if (content_type or "").startswith(ALREADY_COMPRESSED) \
        else zipfile.ZIP_DEFLATED


def _add_file(archive: zipfile.ZipFile, packed: PackFile) -> None:
    """Stream a stored file in, dated when it was uploaded; it unpacks writable."""
    uploaded = packed.stored.uploaded_at
    info = zipfile.ZipInfo(packed.path, date_time=uploaded.timetuple()[:6] if uploaded
                           and uploaded.year >= 1980 else (1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = _compression(packed.stored.content_type)
    info.file_size = packed.stored.size  # lets zipfile choose ZIP64 for a large file up front
    with filestore.open_file(packed.stored) as src, archive.open(info, "w") as dest:
        shutil.copyfileobj(src, dest, CHUNK)


def export_workshop(user: User | None, workshop: Workshop,
                    resource_url: Callable[[Resource], str]) -> tuple[BinaryIO, str]:
    """The pack as an open temporary file (at its start) and a name to download it as.

    `resource_url` gives each resource's address on the site, for readers back online. The
    caller closes the file, which deletes it.
    """
    pack = plan_pack(user, workshop)
    scratch = filestore.store().scratch
    scratch.mkdir(parents=True, exist_ok=True)
    bundle = tempfile.TemporaryFile(dir=scratch, prefix="workshop-")
    try:
        with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("index.html", render_index(workshop, pack))
            archive.writestr("manifest.json", json.dumps(
                manifest(workshop, pack, resource_url), ensure_ascii=False, indent=2))
            for entry in pack:
                for packed in entry.files:
                    _add_file(archive, packed)
        bundle.seek(0)
    except BaseException:
        bundle.close()
        raise
    return bundle, download_name(workshop)
