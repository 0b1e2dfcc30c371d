"""Text and properties from a stored file, extracted in a limited child process.

    extract_file(path, content_type, *, timeout=60, memory_mb=1024, ocr=True) -> Extraction
    extract(path, content_type, *, timeout=60, memory_mb=1024, ocr=True) -> Extraction

`extract_file` always uses a child process. `extract` (what the application calls) reads a small
plain-text file in this process instead (`extract_text_in_process`): a child costs more to start
than such a file costs to read, and decoding at most IN_PROCESS_MAX_BYTES of text, then cleaning
it, takes time and memory in proportion to its size, so it needs no limits. Everything else (PDF,
office files, images, Markdown and HTML, whose parsers can take quadratic time on crafted input,
larger text files) goes to the child. Both run the same code (`worker.extract`), so the result is
the same either way.

Never raises: every failure comes back as state "failed" with a short English reason. The file
processors (one module per family: pdf, ooxml, odf, text, images) have the `can_process` /
`process` shape and run in the child (see runner and worker), plain text also in process.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from kb.ingest.extract.registry import FORMATS, supports
from kb.ingest.extract.runner import ChildFailed, run_child

__all__ = ["Extraction", "extract", "extract_file", "extract_text_in_process", "runs_in_process",
           "supports"]

# Plain text only: decoding and cleaning are linear. Markdown and HTML parsing is not (16 KB of
# "[" kept Python-Markdown busy for minutes, 16 KB of "<a " the HTML parser for seconds), so those
# stay in the child, which has a time limit.
IN_PROCESS_TYPES = frozenset({"text/plain"})
# A child costs ~0.1-0.3 s to start; above this size reading the text costs more than that anyway
# (Khmer normalisation runs at roughly 0.1-0.3 MB/s), and the time spent in-process stays bounded.
IN_PROCESS_MAX_BYTES = 256 * 1024

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
        return _extraction(answer, path, content_type)
    except ChildFailed as failure:
        return Extraction("failed", error=failure.message)
    except Exception as error:  # e.g. the interpreter could not be started
        log.exception("extraction of %s could not run", path)
        return Extraction("failed", error=f"Extraction could not run ({type(error).__name__}).")


def _extraction(answer: dict, path: Path, content_type: str) -> Extraction:
    if answer.get("detail"):
        log.info("extraction of %s (%s) failed: %s", path, FORMATS.get(content_type),
                 answer["detail"])
    return Extraction(state="ok" if answer.get("state") == "ok" else "failed",
                      text=answer.get("text") or "",
                      properties=dict(answer.get("properties") or {}),
                      error=answer.get("error") or "",
                      ocr_used=bool(answer.get("ocr_used")))


def runs_in_process(path: Path, content_type: str) -> bool:
    """Whether `extract` reads this file here rather than in a child (small plain text)."""
    try:
        return (content_type in IN_PROCESS_TYPES
                and Path(path).stat().st_size <= IN_PROCESS_MAX_BYTES)
    except (OSError, TypeError, ValueError):
        return False


def extract_text_in_process(path: Path, content_type: str) -> Extraction:
    """A small plain-text file read in this process, exactly as the child would read it (the same
    `worker.extract`), at most IN_PROCESS_MAX_BYTES of it. Never raises."""
    from kb.ingest.extract.worker import extract as extract_in_worker

    try:
        path = Path(path)
        if content_type not in IN_PROCESS_TYPES:
            return Extraction("failed", error="Text cannot be extracted from this type of file.")
        if not path.is_file():
            return Extraction("failed", error="The file is missing.")
        answer = extract_in_worker({"path": str(path), "content_type": content_type,
                                    "ocr": False, "timeout": 60, "memory_mb": 1024,
                                    "max_bytes": IN_PROCESS_MAX_BYTES})
        return _extraction(answer, path, content_type)
    except Exception as error:  # worker.extract answers for the file's own errors
        log.exception("extraction of %s could not run", path)
        return Extraction("failed", error=f"Extraction could not run ({type(error).__name__}).")


def extract(path: Path, content_type: str, *, timeout: float = 60, memory_mb: int = 1024,
            ocr: bool = True) -> Extraction:
    """Small plain text here, everything else in a limited child (see the module's docstring)."""
    if runs_in_process(path, content_type):
        return extract_text_in_process(path, content_type)
    return extract_file(path, content_type, timeout=timeout, memory_mb=memory_mb, ocr=ocr)
