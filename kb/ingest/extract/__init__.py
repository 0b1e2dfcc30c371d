"""Text and properties from a stored file, extracted in a limited child process.

    extract_file(path, content_type, *, timeout=60, memory_mb=1024, ocr=True) -> Extraction

Never raises: every failure comes back as state "failed" with a short English reason. The file
processors (one module per family: pdf, ooxml, odf, text, images) have the `can_process` /
`process` shape and run only in the child (see runner and worker).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from kb.ingest.extract.registry import FORMATS, supports
from kb.ingest.extract.runner import ChildFailed, run_child

__all__ = ["Extraction", "extract_file", "supports"]

log = logging.getLogger(__name__)


@dataclass
class Extraction:
    """state "ok" or "failed"; text normalised (Khmer included); properties may hold title,
    author, date (YYYY-MM-DD), language ("en"/"km"), pages, and ocr_pages / truncated; error is
    a short English reason when failed (text may still hold what could be read)."""

    state: str
    text: str = ""
    properties: dict = field(default_factory=dict)
    error: str = ""
    ocr_used: bool = False

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def extract_file(path: Path, content_type: str, *, timeout: float = 60, memory_mb: int = 1024,
                 ocr: bool = True) -> Extraction:
    """Extract in a child limited to `memory_mb` of address space and killed after `timeout`
    seconds."""
    try:
        path = Path(path)
        if not supports(content_type):
            return Extraction("failed", error="Text cannot be extracted from this type of file.")
        if not path.is_file():
            return Extraction("failed", error="The file is missing.")
        from kb.ingest.extract.ocr import languages

        answer = run_child({"task": "extract", "path": str(path.resolve()),
                            "content_type": content_type, "ocr": ocr,
                            "ocr_languages": languages() if ocr else None}, timeout, memory_mb)
        if answer.get("detail"):
            log.info("extraction of %s (%s) failed: %s", path, FORMATS.get(content_type),
                     answer["detail"])
        return Extraction(state="ok" if answer.get("state") == "ok" else "failed",
                          text=answer.get("text") or "",
                          properties=dict(answer.get("properties") or {}),
                          error=answer.get("error") or "",
                          ocr_used=bool(answer.get("ocr_used")))
    except ChildFailed as failure:
        return Extraction("failed", error=failure.message)
    except Exception as error:  # e.g. the interpreter could not be started
        log.exception("extraction of %s could not run", path)
        return Extraction("failed", error=f"Extraction could not run ({type(error).__name__}).")
