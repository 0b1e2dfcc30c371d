"""Shared data for the ingest tests: the real files in /work/shared/data, read in place."""
from __future__ import annotations

import os
import re
import shutil
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kb.ingest.khmer import normalise_khmer

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
OFFICE = DATA / "office-docs"
UDHR_KHMER = DATA / "khmer-udhr-text" / "udhr_khm.xml"
SIL_VARIANTS = DATA / "khmer-sil-encoding" / "bad_kh.txt"
NEWS = DATA / "khmer-news-100"

HAVE_TESSERACT = shutil.which("tesseract") is not None

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}

needs_data = pytest.mark.skipif(not OFFICE.is_dir(), reason="shared test data not present")
needs_tesseract = pytest.mark.skipif(not HAVE_TESSERACT, reason="tesseract is not installed")


def real_files() -> list[Path]:
    if not OFFICE.is_dir():
        return []
    return sorted(p for p in OFFICE.glob("*/*") if p.suffix in CONTENT_TYPES)


@pytest.fixture(scope="session")
def extracted():
    """Every real office file extracted once, several at a time (each in its own child), as
    {relative path: (Extraction, seconds)}; plus the Khmer PDFs again without OCR."""
    from kb.ingest.extract import extract_file

    jobs = [(p.relative_to(OFFICE).as_posix(), p, True) for p in real_files()]
    jobs += [(f"{p.relative_to(OFFICE).as_posix()} (no OCR)", p, False)
             for p in real_files() if p.parent.name == "khmer" and p.suffix == ".pdf"]

    def run(job):
        key, path, ocr = job
        started = time.monotonic()
        # These tests judge what is read, not how fast: a generous limit, so that OCR on a
        # busy machine is not cut short (the time limit has tests of its own).
        result = extract_file(path, CONTENT_TYPES[path.suffix], ocr=ocr, timeout=600)
        return key, (result, time.monotonic() - started)

    # Longest first (the OCR'd PDFs), so the pool is not left waiting on them at the end.
    jobs.sort(key=lambda job: ("Serif_12" not in job[0], "Scanned" not in job[0]))
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, jobs))


_SYLLABLE = re.compile("[\u1780-\u17A2\u17A5-\u17B3][\u17B6-\u17D1\u17D3\u17DD]*"
                       "(?:\u17D2[\u1780-\u17B3][\u17B6-\u17D1\u17D3\u17DD]*)*")


def udhr_khmer_text() -> str:
    root = ElementTree.parse(UDHR_KHMER).getroot()
    parts = ["".join(element.itertext()) for element in root.iter()
             if element.tag.endswith("}para") or element.tag.endswith("}title")]
    return normalise_khmer(" ".join(parts))


def syllable_recall(text: str, truth: str) -> float:
    """Share of the reference's Khmer syllables (as a multiset) found in the text: a measure of
    extraction quality that ignores line breaks and spacing."""
    found, wanted = Counter(_SYLLABLE.findall(text)), Counter(_SYLLABLE.findall(truth))
    return sum((found & wanted).values()) / max(sum(wanted.values()), 1)
