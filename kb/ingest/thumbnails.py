"""A small PNG of a file's first page: PDFs rendered with PDFium, images scaled with Pillow,
and the preview that OpenDocument and Office files carry inside them.

    make_thumbnail(path, content_type, out_path, width=320) -> bool

Runs in the same limited child process as extraction; never raises. A picture that is all but
empty (Word keeps an all-white preview of a page with a line or two on it) is not kept: the pages
show a file-type card instead, never an empty box.
"""
from __future__ import annotations

import io
import logging
import os
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

PDF = "application/pdf"
IMAGES = frozenset({"image/jpeg", "image/png", "image/tiff"})
# Office files whose zip may hold a preview picture, and where it is.
EMBEDDED = {
    "application/vnd.oasis.opendocument.text": ("Thumbnails/thumbnail.png",),
    "application/vnd.oasis.opendocument.presentation": ("Thumbnails/thumbnail.png",),
    "application/vnd.oasis.opendocument.spreadsheet": ("Thumbnails/thumbnail.png",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        ("docProps/thumbnail.jpeg", "docProps/thumbnail.png"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        ("docProps/thumbnail.jpeg", "docProps/thumbnail.png"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        ("docProps/thumbnail.jpeg", "docProps/thumbnail.png"),
}
MAX_EMBEDDED_BYTES = 5 * 1024 * 1024
# "Nearly blank": fewer than this share of the pixels is darker than INK_LEVEL (of 255). A page
# of text is several percent ink; two lines on a Word page are 0.3 %, invisible at card size.
INK_LEVEL = 230
MIN_INK_SHARE = 0.005


def can_thumbnail(content_type: str) -> bool:
    return content_type == PDF or content_type in IMAGES or content_type in EMBEDDED


def make_thumbnail(path: Path, content_type: str, out_path: Path, width: int = 320, *,
                   timeout: float = 30, memory_mb: int = 768) -> bool:
    """Write a PNG about `width` pixels wide to out_path; False for other types or failure."""
    from kb.ingest.extract.runner import ChildFailed, run_child

    try:
        path, out_path = Path(path), Path(out_path)
        if not can_thumbnail(content_type) or not path.is_file():
            return False
        answer = run_child({"task": "thumbnail", "path": str(path.resolve()),
                            "content_type": content_type, "out_path": str(out_path.resolve()),
                            "width": int(width)}, timeout, memory_mb)
        if answer.get("detail"):
            log.info("no thumbnail for %s: %s", path, answer["detail"])
        return bool(answer.get("ok")) and out_path.is_file()
    except ChildFailed as failure:
        log.info("no thumbnail for %s: %s", path, failure.message)
        return False
    except Exception:
        log.exception("thumbnail of %s could not run", path)
        return False


# --- Child side ---------------------------------------------------------------------------

def render_thumbnail(path: Path, content_type: str, out_path: Path, width: int) -> bool:
    """Render and save; runs inside the limited child."""
    if content_type == PDF:
        image = _pdf_page(path, width)
    elif content_type in IMAGES:
        image = _image(path, width)
    elif content_type in EMBEDDED:
        image = _embedded(path, content_type, width)
    else:
        return False
    # An uploaded picture is its own content; a page that is all but empty says nothing.
    if image is None or (content_type not in IMAGES and is_nearly_blank(image)):
        return False
    _save(image, out_path)
    return True


def is_nearly_blank(image) -> bool:
    """True for a picture with almost no ink on it (an empty or all-but-empty page)."""
    histogram = image.convert("L").histogram()
    total = sum(histogram) or 1
    return sum(histogram[:INK_LEVEL]) / total < MIN_INK_SHARE


def _pdf_page(path: Path, width: int):
    from kb.ingest.extract.pdf import open_pdf

    document = open_pdf(path)
    try:
        if len(document) == 0:
            return None
        page = document[0]
        try:
            page_width, page_height = page.get_size()
            scale = width / max(page_width, 1)
            if page_height * scale > width * 4:  # a banner-shaped page: keep it small
                scale = width * 4 / max(page_height, 1)
            return page.render(scale=scale).to_pil()
        finally:
            page.close()
    finally:
        document.close()


def _image(path: Path, width: int):
    from kb.ingest.extract.images import open_image

    with open_image(path) as image:
        image.draft("RGB", (width * 2, width * 2))  # JPEG: decode at a reduced size
        return _fit(image, width)


def _embedded(path: Path, content_type: str, width: int):
    from PIL import Image

    from kb.ingest.extract.safezip import check_zip

    check_zip(path, "file")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for name in EMBEDDED[content_type]:
            if name in names and archive.getinfo(name).file_size <= MAX_EMBEDDED_BYTES:
                with Image.open(io.BytesIO(archive.read(name))) as image:
                    return _fit(image, width)
    return None


def _fit(image, width: int):
    image.load()
    if image.mode not in ("RGB", "L"):
        rgba = image.convert("RGBA")
        from PIL import Image

        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.split()[3])
        image = background
    else:
        image = image.copy()
    image.thumbnail((width, width * 4))
    return image


def _save(image, out_path: Path) -> None:
    """Write next to the target and rename, so a half-written thumbnail never appears."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        image.save(temporary, format="PNG", optimize=True)
        os.replace(temporary, out_path)
    finally:
        temporary.unlink(missing_ok=True)
