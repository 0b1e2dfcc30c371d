"""A look at a zip's directory before any library opens it, so a "zip bomb" fails at once.

Python's zipfile never inflates an entry past the size its directory declares (it raises a CRC
error instead), so checking the declared sizes bounds what any zip-based reader can unpack.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from kb.ingest.extract.base import ExtractionError

MAX_UNPACKED = 500 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_RATIO = 200           # a part larger than RATIO_FROM that compresses better than this is
RATIO_FROM = 20 * 1024 * 1024  # ...refused; real XML and media stay far below it


def check_zip(path: Path, label: str) -> None:
    """Raise ExtractionError unless the zip at path is sane to unpack."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ExtractionError(f"The file is damaged or not a valid {label}.") from None
    if len(entries) > MAX_ENTRIES:
        raise ExtractionError(f"The file has too many parts (more than {MAX_ENTRIES:,}).")
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > MAX_UNPACKED:
            raise ExtractionError("The file unpacks to more than "
                                  f"{MAX_UNPACKED // (1024 * 1024)} MB (a possible zip bomb).")
        if entry.file_size > RATIO_FROM and entry.file_size > MAX_RATIO * max(
                entry.compress_size, 1):
            raise ExtractionError("The file contains a part that unpacks to more than "
                                  f"{MAX_RATIO} times its size (a possible zip bomb).")
