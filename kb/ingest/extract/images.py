"""JPEG, PNG and TIFF: OCR with Tesseract when installed; EXIF date and artist as properties.

Pillow's decompression-bomb guard stays on, and is made strict: an image with more pixels than
MAX_IMAGE_PIXELS is refused before it is decoded.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from kb.ingest.extract import ocr
from kb.ingest.extract.base import ExtractionError, Job, Result, TypedProcessor, iso_date

MAX_IMAGE_PIXELS = 80_000_000  # an A3 page scanned at 600 dpi is about 70 million
MAX_FRAMES = 500
EXIF_DATE_ORIGINAL, EXIF_DATE, EXIF_ARTIST, EXIF_DESCRIPTION = 0x9003, 0x0132, 0x013B, 0x010E


def open_image(path: Path):
    """A lazily decoded PIL image; ExtractionError for images over the pixel limit."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ExtractionError("The image is too large (more than "
                              f"{MAX_IMAGE_PIXELS // 1_000_000} million pixels).") from None


class ImageProcessor(TypedProcessor):
    content_types = frozenset({"image/jpeg", "image/png", "image/tiff"})

    def process(self, path: Path, job: Job) -> Result:
        from PIL import ImageSequence

        with open_image(path) as image:
            properties = _exif(image)
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                properties["pages"] = frames
            reason = ocr.unavailable_reason(job)
            if reason:
                raise ExtractionError(reason, partial=Result(properties=properties))
            texts = []
            for number, frame in enumerate(ImageSequence.Iterator(image)):
                if number >= MAX_FRAMES or (texts and job.time_left() < 2):
                    properties["truncated"] = True
                    break
                frame.load()
                try:
                    texts.append(ocr.ocr_image(frame.copy(), job))
                except ocr.OcrTimeout:
                    if not texts:
                        raise
                    properties["truncated"] = True
                    break
        properties["ocr_pages"] = len(texts)
        return Result(text="\n\n".join(texts), properties=properties, ocr_used=True)


def _exif(image) -> dict:
    try:
        exif = image.getexif()
        sub = exif.get_ifd(0x8769)  # the Exif IFD holds DateTimeOriginal
    except Exception:  # damaged EXIF only costs us the properties
        return {}
    raw_date = sub.get(EXIF_DATE_ORIGINAL) or exif.get(EXIF_DATE)
    properties = {}
    if isinstance(raw_date, str) and len(raw_date) >= 10:
        properties["date"] = iso_date(raw_date[:10].replace(":", "-"))
    for key, tag in (("author", EXIF_ARTIST), ("title", EXIF_DESCRIPTION)):
        value = exif.get(tag)
        if isinstance(value, str) and value.strip():
            properties[key] = value.strip()
    return properties
