"""Tesseract, when installed: OCR of page images in Khmer and English.

Tesseract runs as its own process (a grandchild of the server), inside the extraction child's
memory limit and process group, so the parent's timeout kills it too. One OpenMP thread: with
several threads it was many times slower on our test pages (and extractions run in parallel).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile

from kb.ingest.extract.base import ExtractionError, Job

OCR_DPI = 200  # Tesseract reads 10-12 pt text best at about this resolution (measured)
MAX_OCR_SIDE = 6000  # pixels; larger images are scaled down first
WANTED_LANGUAGES = ("khm", "eng")
NOT_AVAILABLE = "OCR is not available."
TURNED_OFF = "OCR is turned off."


@functools.lru_cache(maxsize=1)
def tesseract() -> str | None:
    return shutil.which("tesseract")


@functools.lru_cache(maxsize=1)
def languages() -> str | None:
    """"khm+eng" (or what of it is installed), None without Tesseract or its language data."""
    program = tesseract()
    if not program:
        return None
    try:
        listed = subprocess.run([program, "--list-langs"], capture_output=True, text=True,
                                timeout=30, env=_environment()).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    found = [code for code in WANTED_LANGUAGES if code in listed]
    return "+".join(found) or None


def available() -> bool:
    return languages() is not None


def unavailable_reason(job: Job) -> str | None:
    """Why OCR cannot run for this job (turned off / not installed), or None if it can. The
    parent looked Tesseract up (job.ocr_languages): the child may have too little memory to."""
    if not job.ocr:
        return TURNED_OFF
    if not job.ocr_languages or not tesseract():
        return NOT_AVAILABLE
    return None


def _environment() -> dict:
    return dict(os.environ, OMP_THREAD_LIMIT="1")


class OcrTimeout(ExtractionError):
    """No time was left to read (the rest of) the image."""


def ocr_image(image, job: Job) -> str:
    """Text of a PIL image. Raises OcrTimeout when no time is left for it."""
    budget = job.time_left()
    if budget < 1:
        raise OcrTimeout(f"Extraction took longer than {job.timeout:g} s.")
    image = _fit(image)
    with tempfile.TemporaryDirectory(prefix="kb-ocr-") as folder:
        source = os.path.join(folder, "page.png")
        image.save(source, format="PNG")
        try:
            done = subprocess.run([tesseract(), source, "stdout", "-l", job.ocr_languages,
                                   "--psm", "3"], capture_output=True, timeout=budget,
                                  env=_environment())
        except subprocess.TimeoutExpired:
            raise OcrTimeout(f"Extraction took longer than {job.timeout:g} s.") from None
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", errors="replace")
        if done.returncode < 0 or "alloc" in error or "memory" in error.lower():
            raise MemoryError(error[-500:])
        raise ExtractionError("OCR failed on this file.")
    return done.stdout.decode("utf-8", errors="replace")


def _fit(image):
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB") if "A" not in image.mode else _flatten(image)
    longest = max(image.size)
    if longest > MAX_OCR_SIDE:
        ratio = MAX_OCR_SIDE / longest
        image = image.resize((max(1, int(image.width * ratio)), max(1, int(image.height * ratio))))
    return image


def _flatten(image):
    from PIL import Image

    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.split()[3])
    return background
