"""The bundled Khmer font (Noto Sans Khmer, static/fonts) as TrueType, for the documents we
write: PDF writers and Word's embedded fonts take TrueType, the web pages take the WOFF2 files.

The TrueType files are made from the WOFF2 ones on first use and kept in the instance folder.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import current_app

FAMILY = "Noto Sans Khmer"
WEIGHTS = {"regular": "400", "bold": "700"}
# A font with Latin letters beyond ASCII, quotes and dashes (the Khmer font has only ASCII);
# used as a fallback when the system has it (Debian: fonts-dejavu-core).
LATIN_FALLBACK = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _woff2(weight: str) -> Path:
    return Path(current_app.static_folder) / "fonts" / \
        f"noto-sans-khmer-khmer-{WEIGHTS[weight]}-normal.woff2"


def khmer_ttf(weight: str = "regular") -> Path:
    """The TrueType file of the bundled Khmer font in this weight (made once, then reused)."""
    target = Path(current_app.instance_path) / "cache" / "fonts" / \
        f"NotoSansKhmer-{weight}.ttf"
    source = _woff2(weight)
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    from fontTools.ttLib import TTFont

    target.parent.mkdir(parents=True, exist_ok=True)
    font = TTFont(str(source))
    font.flavor = None  # WOFF2 -> plain TrueType
    fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".ttf")
    os.close(fd)
    try:
        font.save(temporary)
        os.replace(temporary, target)  # atomic: another process never reads half a file
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target


def latin_fallback() -> Path | None:
    return LATIN_FALLBACK if LATIN_FALLBACK.exists() else None
